import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from directives.models import Directive
from makima_site.idempotency import MAX_IDEMPOTENCY_KEY_LENGTH
from makima_site.models import TimestampedModel

MAX_LABELS = 20
MAX_LABEL_LENGTH = 50
MAX_TITLE_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 20000
MAX_REPOSITORY_URL_LENGTH = 500
# A task retrying with the same Idempotency-Key within this window gets its first order back.
IDEMPOTENCY_WINDOW = timedelta(hours=24)


def label_errors(labels: object) -> list[str]:
    """Every way `labels` breaks the rules: a list of at most 20 distinct, printable strings
    of 1..50 characters.

    The one rule set behind the model validator, the API serializers and the admin form.
    """
    if not isinstance(labels, list):
        return ["Labels must be a list of strings."]
    errors = []
    if len(labels) > MAX_LABELS:
        errors.append(f"At most {MAX_LABELS} labels are allowed; got {len(labels)}.")
    seen = set()
    for label in labels:
        if not isinstance(label, str):
            errors.append(f"Every label must be a string; got {str(label)[:20]!r}.")
            continue
        if not label.strip():
            errors.append("Labels must not be blank.")
        elif not label.isprintable():
            errors.append(f"Label {label[:20]!r} must not contain line breaks or control chars.")
        elif len(label) > MAX_LABEL_LENGTH:
            errors.append(f"Label {label[:20]!r}… is longer than {MAX_LABEL_LENGTH} characters.")
        if label in seen:
            errors.append(f"Label {label!r} appears more than once; labels must be distinct.")
        seen.add(label)
    return errors


def validate_labels(labels: object) -> None:
    errors = label_errors(labels)
    if errors:
        raise ValidationError(errors)


class Order(TimestampedModel):
    """A work item on a directive: filed by one of its tasks (spike, chore) or by the owner."""

    class Priority(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"
        CRITICAL = "critical", "Critical"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        CLOSED = "closed", "Closed"

    class OrderType(models.TextChoices):
        FEATURE = "feature", "Feature"
        BUG = "bug", "Bug"
        SPIKE = "spike", "Spike"
        CHORE = "chore", "Chore"

    # Severity, lowest first: ordering by priority sorts by this, not by the alphabet.
    PRIORITY_RANK = {
        Priority.LOW: 0,
        Priority.MEDIUM: 1,
        Priority.HIGH: 2,
        Priority.CRITICAL: 3,
    }

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="orders"
    )
    directive = models.ForeignKey(Directive, on_delete=models.CASCADE, related_name="orders")
    title = models.CharField(max_length=MAX_TITLE_LENGTH)
    # null means "no description", also in the task endpoint's response (as in the reference).
    description = models.TextField(max_length=MAX_DESCRIPTION_LENGTH, null=True, blank=True)
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.MEDIUM)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    order_type = models.CharField(max_length=16, choices=OrderType.choices)
    labels = models.JSONField(default=list, blank=True, validators=[validate_labels])
    repository_url = models.URLField(max_length=MAX_REPOSITORY_URL_LENGTH, null=True, blank=True)
    # A string reference: the dependency points directives ← orders ← mesh, so orders never
    # imports mesh, yet the database still guarantees the task exists (and joins stay cheap).
    filed_by_task = models.ForeignKey(
        "mesh.Task",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="filed_orders",
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The owner's list and each of its filters, newest first.
            models.Index(fields=["owner", "-created_at"], name="order_owner_created"),
            models.Index(fields=["owner", "-updated_at"], name="order_owner_updated"),
            models.Index(fields=["owner", "status", "-created_at"], name="order_owner_status"),
            models.Index(fields=["owner", "priority", "-created_at"], name="order_owner_priority"),
            models.Index(fields=["owner", "order_type", "-created_at"], name="order_owner_type"),
            models.Index(fields=["directive", "-created_at"], name="order_directive_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(priority__in=["low", "medium", "high", "critical"]),
                name="order_priority_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["open", "in_progress", "done", "closed"]),
                name="order_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(order_type__in=["feature", "bug", "spike", "chore"]),
                name="order_type_valid",
            ),
            models.CheckConstraint(condition=~models.Q(title=""), name="order_title_not_empty"),
        ]

    def __str__(self) -> str:
        return self.title


class OrderIdempotencyKey(models.Model):
    """A task's Idempotency-Key, the body it came with and the order it filed, so a retry
    gets that order back."""

    task = models.ForeignKey("mesh.Task", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=MAX_IDEMPOTENCY_KEY_LENGTH)
    # The fingerprint of the request's validated body (makima_site.idempotency), so the same
    # key with another body is refused; "" for keys stored before fingerprints were kept.
    request_hash = models.CharField(max_length=64, default="")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Two concurrent requests with the same key cannot both insert: one wins, the
            # other reads the winner's order.
            models.UniqueConstraint(fields=["task", "key"], name="order_idempotency_task_key")
        ]

    def __str__(self) -> str:
        return f"{self.key} → {self.order_id}"
