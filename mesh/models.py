import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from directives.models import Directive
from makima_site.idempotency import MAX_IDEMPOTENCY_KEY_LENGTH
from makima_site.models import TimestampedModel

# Limits of a question, enforced by the ask and answer serializers and the services.
MAX_QUESTION_LENGTH = 4000
MAX_CHOICES = 50
MAX_CHOICE_LENGTH = 500
MAX_CONTEXT_LENGTH = 20000
MAX_RESPONSE_LENGTH = 10000
MAX_TIMEOUT_SECONDS = 86400
DEFAULT_TIMEOUT_SECONDS = 3600
MAX_REASON_LENGTH = 2000
MIN_TTL_SECONDS = 60
MAX_TTL_SECONDS = 2592000  # 30 days


def default_expires_at() -> datetime:
    """When a question asked now expires by default (MESH_QUESTION_TTL_SECONDS)."""
    return timezone.now() + timedelta(seconds=settings.MESH_QUESTION_TTL_SECONDS)


class ApiToken(models.Model):
    """A personal API token of an owner; only its hash is stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True, default="")
    prefix = models.CharField(max_length=16, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"
        verbose_name_plural = "API tokens"

    def __str__(self) -> str:
        return f"{self.name or 'token'} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Task(TimestampedModel):
    """An autonomous agent task; it authenticates with its tool key (stored as a hash)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tasks"
    )
    directive = models.ForeignKey(
        Directive, on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks"
    )
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    tool_key_prefix = models.CharField(max_length=16, db_index=True, editable=False)
    tool_key_hash = models.CharField(max_length=64, unique=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "status", "created_at"])]

    def __str__(self) -> str:
        return self.name


class QuestionQuerySet(models.QuerySet["Question"]):
    def pending(self) -> "QuestionQuerySet":
        """Still pending: not settled and not past its time to live."""
        return self.filter(status="pending", expires_at__gt=timezone.now())

    def past_ttl(self) -> "QuestionQuerySet":
        """Pending in the row but past its time to live: expired, not yet marked."""
        return self.filter(status="pending", expires_at__lte=timezone.now())


class Question(TimestampedModel):
    """A question a directive task asked its owner; the row is the source of truth.

    It is pending until exactly one settlement moves it, once, to answered, declined,
    cancelled or expired (mesh/questions/services.py); a pending question past expires_at
    counts as expired everywhere, before any sweep marks it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ANSWERED = "answered", "Answered"
        DECLINED = "declined", "Declined"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"

    class QuestionType(models.TextChoices):
        GENERAL = "general", "General"
        PHASE_CONFIRMATION = "phase_confirmation", "Phase confirmation"
        CONTRACT_COMPLETE = "contract_complete", "Contract complete"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="questions"
    )
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="questions")
    directive = models.ForeignKey(
        Directive, on_delete=models.SET_NULL, null=True, blank=True, related_name="questions"
    )
    question = models.TextField(max_length=MAX_QUESTION_LENGTH)
    choices = models.JSONField(default=list, blank=True)
    context = models.TextField(max_length=MAX_CONTEXT_LENGTH, null=True, blank=True)
    question_type = models.CharField(
        max_length=32, choices=QuestionType.choices, default=QuestionType.GENERAL
    )
    multi_select = models.BooleanField(default=False)
    phaseguard = models.BooleanField(default=False)
    non_blocking = models.BooleanField(default=False)
    timeout_seconds = models.PositiveIntegerField(default=DEFAULT_TIMEOUT_SECONDS)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    response = models.TextField(max_length=MAX_RESPONSE_LENGTH, null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="answered_questions",
    )
    reason = models.TextField(max_length=MAX_REASON_LENGTH, null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    settled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="settled_questions",
    )
    expires_at = models.DateTimeField(default=default_expires_at)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            # The pending list in its order (id breaks ties), so its LIMIT reads only what
            # it sends; with expires_at, its count reads the index alone.
            models.Index(
                fields=["owner", "status", "created_at", "id", "expires_at"],
                name="question_owner_order",
            ),
            models.Index(fields=["task", "status"], name="question_task_status"),
            # The sweep's; partial, so the planner never prefers it for the owner's list.
            models.Index(
                fields=["expires_at"],
                condition=models.Q(status="pending"),
                name="question_pending_expiry",
            ),
        ]

    def __str__(self) -> str:
        return self.question[:80]

    objects = QuestionQuerySet.as_manager()

    @property
    def is_past_ttl(self) -> bool:
        """Pending in the row but past its time to live: expired, not yet marked."""
        return self.status == self.Status.PENDING and self.expires_at <= timezone.now()


class QuestionIdempotencyKey(models.Model):
    """An ask's Idempotency-Key: a retry with the same key attaches to this question."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="question_keys")
    key = models.CharField(max_length=MAX_IDEMPOTENCY_KEY_LENGTH)
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="keys")
    request_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["task", "key"], name="question_key_per_task")
        ]

    def __str__(self) -> str:
        return f"{self.key} → {self.question_id}"


class RetiredToolKey(models.Model):
    """The key hash of a deleted task, so its tool key answers 404 "task gone", not 401."""

    key_hash = models.CharField(max_length=64, unique=True)
    task_id = models.UUIDField()
    retired_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"retired key of task {self.task_id}"
