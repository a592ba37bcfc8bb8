"""Writes of webhooks and notification channels (each in a transaction).

A webhook's secret exists in clear only in the reply of its creation or rotation; it is
stored encrypted (notify.crypto). Rotation keeps the previous secret signing alongside the
new one for WEBHOOK_SECRET_OVERLAP_SECONDS.
"""

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from makima_site.errors import ApplicationError
from notify import crypto
from notify.models import (
    EVENT_TYPES,
    TEST_EVENT,
    Delivery,
    Notification,
    NotificationChannel,
    Webhook,
)
from notify.outbox import queue_delivery, queue_notification
from notify.payloads import event_body

WEBHOOK_FIELDS = ("url", "events", "description", "is_active")
CHANNEL_FIELDS = ("kind", "target", "events", "remind_after_minutes", "is_active")


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError(
        f"{field}: {message}", code="VALIDATION_ERROR", details={field: [message]}
    )


def check_events(events: list[str]) -> list[str]:
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown:
        raise _invalid("events", f"Unknown event type(s): {', '.join(map(str, unknown))}.")
    return list(dict.fromkeys(events))


def check_webhook_url(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise _invalid("url", "The URL must be http or https.")
    if scheme != "https" and not (settings.DEBUG or settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS):
        raise _invalid("url", "The URL must be https.")
    return url


@transaction.atomic
def webhook_create(
    *,
    owner: User,
    url: str,
    events: list[str] | None = None,
    description: str = "",
    is_active: bool = True,
) -> tuple[Webhook, str]:
    """A new endpoint and its raw secret (returned only here)."""
    secret = crypto.new_webhook_secret()
    webhook = Webhook.objects.create(
        owner=owner,
        url=check_webhook_url(url),
        events=check_events(events or []),
        description=description,
        is_active=is_active,
        secret_encrypted=crypto.encrypt(secret),
    )
    return webhook, secret


@transaction.atomic
def webhook_update(*, webhook: Webhook, data: dict[str, Any]) -> Webhook:
    unknown = set(data) - set(WEBHOOK_FIELDS)
    if unknown:
        raise ValueError(f"webhook_update cannot change {sorted(unknown)}")
    if "url" in data:
        check_webhook_url(data["url"])
    if "events" in data:
        data["events"] = check_events(data["events"])
    for field, value in data.items():
        setattr(webhook, field, value)
    if data.get("is_active"):
        webhook.disabled_reason = ""
    webhook.save()
    return webhook


@transaction.atomic
def webhook_delete(*, webhook: Webhook) -> None:
    webhook.delete()


@transaction.atomic
def webhook_rotate_secret(*, webhook: Webhook) -> tuple[Webhook, str]:
    """A new secret; the current one keeps signing, alongside, for the overlap."""
    secret = crypto.new_webhook_secret()
    overlap = timedelta(seconds=float(settings.WEBHOOK_SECRET_OVERLAP_SECONDS))
    webhook.previous_secret_encrypted = webhook.secret_encrypted
    webhook.previous_secret_expires_at = timezone.now() + overlap
    webhook.secret_encrypted = crypto.encrypt(secret)
    webhook.save()
    return webhook, secret


@transaction.atomic
def webhook_disable(*, webhook: Webhook, reason: str, tell_owner: bool = False) -> None:
    """Switch an endpoint off; with `tell_owner`, a message on each of their channels."""
    Webhook.objects.filter(pk=webhook.pk).update(
        is_active=False, disabled_reason=reason[:200], updated_at=timezone.now()
    )
    if not tell_owner:
        return
    text = (
        f"Your webhook {webhook.url} was disabled: {reason}. Fix the endpoint, then switch "
        "it on again (isActive) in /api/v1/webhooks/."
    )
    for channel in NotificationChannel.objects.filter(owner_id=webhook.owner_id, is_active=True):
        queue_notification(channel, kind=Notification.Kind.WEBHOOK_DISABLED, text=text)


@transaction.atomic
def webhook_send_test(*, webhook: Webhook) -> Delivery:
    data = {"webhookId": str(webhook.id), "message": "A test event from Makima mesh."}
    return queue_delivery(webhook, event_body(TEST_EVENT, data, timezone.now()))


@transaction.atomic
def delivery_retry(*, delivery: Delivery) -> Delivery:
    """Deliver once more, now (same webhook-id); a failed delivery gets one attempt."""
    from notify import jobs

    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.PENDING, next_attempt_at=timezone.now(), locked_until=None
    )
    jobs.deliver_webhook.enqueue(str(delivery.pk))
    delivery.refresh_from_db()
    return delivery


# --- notification channels ----------------------------------------------------------------
def check_target(kind: str, target: str) -> str:
    if kind == NotificationChannel.Kind.EMAIL:
        from django.core.exceptions import ValidationError
        from django.core.validators import validate_email

        try:
            validate_email(target)
        except ValidationError as exc:
            raise _invalid("target", "Enter a valid email address.") from exc
    elif kind == NotificationChannel.Kind.APPRISE:
        import apprise

        if apprise.Apprise.instantiate(target) is None:
            raise _invalid("target", "Apprise does not know this URL.")
    else:
        raise _invalid("kind", "Must be email or apprise.")
    return target


@transaction.atomic
def channel_create(
    *,
    owner: User,
    kind: str,
    target: str,
    events: list[str] | None = None,
    remind_after_minutes: int = 15,
    is_active: bool = True,
) -> NotificationChannel:
    return NotificationChannel.objects.create(
        owner=owner,
        kind=kind,
        target_encrypted=crypto.encrypt(check_target(kind, target)),
        events=check_events(events or []),
        remind_after_minutes=remind_after_minutes,
        is_active=is_active,
    )


@transaction.atomic
def channel_update(*, channel: NotificationChannel, data: dict[str, Any]) -> NotificationChannel:
    unknown = set(data) - set(CHANNEL_FIELDS)
    if unknown:
        raise ValueError(f"channel_update cannot change {sorted(unknown)}")
    kind = data.get("kind", channel.kind)
    if "target" in data or "kind" in data:
        target = data.pop("target", None) or crypto.decrypt(channel.target_encrypted)
        channel.target_encrypted = crypto.encrypt(check_target(kind, target))
    if "events" in data:
        data["events"] = check_events(data["events"])
    for field, value in data.items():
        setattr(channel, field, value)
    channel.save()
    return channel


@transaction.atomic
def channel_delete(*, channel: NotificationChannel) -> None:
    channel.delete()


@transaction.atomic
def channel_send_test(*, channel: NotificationChannel) -> Notification:
    return queue_notification(
        channel, kind=Notification.Kind.TEST, text="A test notification from Makima mesh."
    )
