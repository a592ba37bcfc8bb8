"""Webhook endpoints and their deliveries, notification channels and their messages.

Deliveries and notifications are the outbox: written in the transaction of the change
they report (notify.outbox), then sent by the worker (notify.jobs). Secrets (webhook
signing secrets, Apprise URLs, which hold tokens) are stored encrypted (notify.crypto).
"""

import uuid

from django.conf import settings
from django.db import models

from makima_site.models import TimestampedModel

QUESTION_EVENTS = (
    "question.asked",
    "question.answered",
    "question.declined",
    "question.cancelled",
    "question.expired",
)
ORDER_EVENTS = ("order.created", "order.updated")
EVENT_TYPES = QUESTION_EVENTS + ORDER_EVENTS
TEST_EVENT = "webhook.test"
MAX_URL_LENGTH = 2000
RESPONSE_KEPT_BYTES = 1024


class Webhook(TimestampedModel):
    """An owner's endpoint: events are POSTed to `url`, signed (Standard Webhooks 1.0)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.URLField(max_length=MAX_URL_LENGTH)
    events = models.JSONField(default=list, blank=True)  # empty: every event
    description = models.CharField(max_length=500, blank=True, default="")
    is_active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True, default="")
    secret_encrypted = models.TextField(editable=False)
    previous_secret_encrypted = models.TextField(editable=False, blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return event_type == TEST_EVENT or not self.events or event_type in self.events


class Delivery(models.Model):
    """One event for one endpoint; `message_id` (the webhook-id header) never changes."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RETRYING = "retrying", "Retrying"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event_type = models.CharField(max_length=64)
    message_id = models.CharField(max_length=64, unique=True)
    payload = models.JSONField()  # the body: {type, timestamp, data}
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.event_type} {self.message_id}"


class DeliveryAttempt(models.Model):
    """One POST of a delivery and what came of it."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    attempted_at = models.DateTimeField()
    http_status = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True, default="")
    response_body = models.TextField(blank=True, default="")  # its first 1 KiB

    class Meta:
        ordering = ["attempted_at", "id"]

    def __str__(self) -> str:
        return f"attempt at {self.attempted_at:%Y-%m-%d %H:%M:%S}: {self.http_status or self.error}"


class NotificationChannel(TimestampedModel):
    """Where an owner hears of questions: an email address or an Apprise URL."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        APPRISE = "apprise", "Apprise"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_channels"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    target_encrypted = models.TextField(editable=False)
    events = models.JSONField(default=list, blank=True)  # empty: every event
    remind_after_minutes = models.PositiveIntegerField(default=15)  # 0: no reminders
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} channel {self.id}"

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


class Notification(models.Model):
    """One message for one channel (the outbox row the worker sends)."""

    class Kind(models.TextChoices):
        EVENT = "event", "Event"
        REMINDER = "reminder", "Reminder"
        EXPIRING = "expiring", "Expiring soon"
        TEST = "test", "Test"
        WEBHOOK_DISABLED = "webhook_disabled", "Webhook disabled"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    channel = models.ForeignKey(
        NotificationChannel, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.EVENT)
    event_type = models.CharField(max_length=64, blank=True, default="")
    question = models.ForeignKey(
        "mesh.Question", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    text = models.TextField(blank=True, default="")  # for messages without a question
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # A question is reminded of, and said to expire soon, once per channel.
            models.UniqueConstraint(
                fields=["channel", "question", "kind"],
                condition=models.Q(kind__in=["reminder", "expiring"]),
                name="notify_notification_once_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_type}".strip()
