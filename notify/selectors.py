"""Reads of webhooks, deliveries and channels, scoped to their owner."""

from django.contrib.auth.models import User
from django.db.models import QuerySet

from notify.models import Delivery, NotificationChannel, Webhook


def webhook_list(*, owner: User) -> QuerySet[Webhook]:
    return Webhook.objects.filter(owner=owner)


def delivery_list(*, webhook: Webhook) -> QuerySet[Delivery]:
    """Newest first, with their attempts."""
    return (
        Delivery.objects.filter(webhook=webhook)
        .prefetch_related("attempts")
        .order_by("-created_at", "-id")
    )


def channel_list(*, owner: User) -> QuerySet[NotificationChannel]:
    return NotificationChannel.objects.filter(owner=owner)


def webhook_admin_list(*, user: User) -> QuerySet[Webhook]:
    rows = Webhook.objects.select_related("owner")
    return rows if user.is_superuser else rows.filter(owner=user)


def delivery_admin_list(*, user: User) -> QuerySet[Delivery]:
    rows = Delivery.objects.select_related("webhook", "webhook__owner")
    return rows if user.is_superuser else rows.filter(webhook__owner=user)


def channel_admin_list(*, user: User) -> QuerySet[NotificationChannel]:
    rows = NotificationChannel.objects.select_related("owner")
    return rows if user.is_superuser else rows.filter(owner=user)
