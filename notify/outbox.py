"""The outbox: a state change becomes deliveries and notifications in its own transaction.

Connected to makima_site.changes.state_changed. For each of the owner's active endpoints
that wants the event, a Delivery row (with its stable webhook-id and the body as of the
change) and a worker job are written; for each active channel that wants it (question
events only), a Notification row and its job. The jobs are rows of the database task
backend, inserted in the same transaction, so the change and its outbox commit together or
not at all.
"""

import uuid
from typing import Any

from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from makima_site.changes import state_changed
from mesh.models import Question
from notify import jobs
from notify.models import Delivery, Notification, NotificationChannel, Webhook
from notify.payloads import event_body, order_data, question_data
from orders.models import Order


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def queue_delivery(webhook: Webhook, body: dict[str, Any]) -> Delivery:
    """A delivery of `body` to `webhook`, due now, and its job (call inside a transaction)."""
    delivery = Delivery.objects.create(
        webhook=webhook,
        event_type=body["type"],
        message_id=new_message_id(),
        payload=body,
        next_attempt_at=timezone.now(),
    )
    jobs.deliver_webhook.enqueue(str(delivery.id))
    return delivery


def queue_notification(channel: NotificationChannel, **fields: Any) -> Notification:
    notification = Notification.objects.create(channel=channel, **fields)
    jobs.send_notification.enqueue(str(notification.id))
    return notification


@receiver(state_changed, dispatch_uid="notify.outbox")
def on_state_changed(sender: Any, event_type: str, instance: Any, **kwargs: Any) -> None:
    owner_id = getattr(instance, "owner_id", None)
    if owner_id is None:
        return
    webhooks = [
        w for w in Webhook.objects.filter(owner_id=owner_id, is_active=True) if w.wants(event_type)
    ]
    channels = (
        [
            c
            for c in NotificationChannel.objects.filter(owner_id=owner_id, is_active=True)
            if c.wants(event_type)
        ]
        if isinstance(instance, Question)
        else []
    )
    if not webhooks and not channels:
        return
    with transaction.atomic():
        if webhooks:
            data = question_data(instance) if isinstance(instance, Question) else None
            if isinstance(instance, Order):
                data = order_data(instance)
            body = event_body(event_type, data or {}, timezone.now())
            for webhook in webhooks:
                queue_delivery(webhook, body)
        for channel in channels:
            queue_notification(channel, event_type=event_type, question=instance)
