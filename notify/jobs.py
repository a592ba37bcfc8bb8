"""The notify app's worker jobs (django_tasks, run by `manage.py db_worker`).

deliver_webhook and send_notification are enqueued with their outbox rows; pump_due
(periodic) sends what is due but lost its job (a worker killed mid-attempt), and
send_reminders (periodic) writes the reminders and "expiring soon" messages.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from worker.schedule import next_run

logger = logging.getLogger(__name__)


@task()
def deliver_webhook(delivery_id: str) -> str | None:
    from notify.delivery import deliver

    return deliver(delivery_id)


@task()
def send_notification(notification_id: str) -> str | None:
    from notify.models import Notification
    from notify.sending import send

    now = timezone.now()
    lease = now + timedelta(seconds=float(settings.WEBHOOK_LEASE_SECONDS))
    claimed = (
        Notification.objects.filter(pk=notification_id, status=Notification.Status.PENDING)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=lease)
    )
    if not claimed:
        return None
    row = Notification.objects.select_related(
        "channel", "question__task", "question__directive"
    ).get(pk=notification_id)
    reminder = row.kind in (Notification.Kind.REMINDER, Notification.Kind.EXPIRING)
    if reminder and (row.question is None or row.question.status != "pending"):
        status, error = Notification.Status.SKIPPED, "the question was settled meanwhile"
    elif not row.channel.is_active:
        status, error = Notification.Status.SKIPPED, "the channel is off"
    else:
        try:
            send(row.channel, row)
            status, error = Notification.Status.SENT, ""
        except Exception as exc:  # any channel's failure is recorded, never raised
            status, error = Notification.Status.FAILED, f"{type(exc).__name__}: {exc}"[:500]
            logger.warning("Notification %s failed: %s", row.pk, type(exc).__name__)
    Notification.objects.filter(pk=row.pk).update(
        status=status,
        error=error,
        attempt_count=row.attempt_count + 1,
        locked_until=None,
        sent_at=timezone.now() if status == Notification.Status.SENT else None,
    )
    return str(status)


@task()
def pump_due() -> int:
    """Send the deliveries and notifications that are due and not held by a live lease."""
    from notify.delivery import deliver
    from notify.models import Delivery, Notification

    with next_run(pump_due, float(settings.NOTIFY_PUMP_SECONDS)):
        now = timezone.now()
        free = Q(locked_until__isnull=True) | Q(locked_until__lt=now)
        grace = now - timedelta(seconds=float(settings.NOTIFY_PUMP_SECONDS))
        due = (
            Delivery.objects.filter(
                status__in=[Delivery.Status.PENDING, Delivery.Status.RETRYING],
                next_attempt_at__lte=grace,
            )
            .filter(free)
            .values_list("pk", flat=True)[:200]
        )
        sent = sum(deliver(str(pk)) is not None for pk in list(due))
        waiting = (
            Notification.objects.filter(status=Notification.Status.PENDING, created_at__lte=grace)
            .filter(free)
            .values_list("pk", flat=True)[:200]
        )
        sent += sum(send_notification.call(str(pk)) is not None for pk in list(waiting))
        return sent


@task()
def send_reminders() -> int:
    """Reminders: a question still pending remindAfterMinutes after it was asked, once;
    one expiring within the hour, once more. Returns how many were queued."""
    from mesh.models import Question
    from notify.models import Notification, NotificationChannel
    from notify.outbox import queue_notification

    with next_run(send_reminders, float(settings.NOTIFY_REMINDER_SWEEP_SECONDS)):
        now = timezone.now()
        soon = now + timedelta(seconds=float(settings.NOTIFY_EXPIRING_SOON_SECONDS))
        queued = 0
        channels = NotificationChannel.objects.filter(is_active=True, remind_after_minutes__gt=0)
        for channel in channels:
            if not channel.wants("question.asked"):
                continue
            pending = Question.objects.filter(owner_id=channel.owner_id).pending()
            asked_before = now - timedelta(minutes=channel.remind_after_minutes)
            for kind, questions in (
                (Notification.Kind.REMINDER, pending.filter(created_at__lte=asked_before)),
                (Notification.Kind.EXPIRING, pending.filter(expires_at__lte=soon)),
            ):
                already = Notification.objects.filter(channel=channel, kind=kind)
                for question in questions.exclude(pk__in=already.values("question_id"))[:500]:
                    try:
                        with transaction.atomic():
                            queue_notification(
                                channel, kind=kind, event_type="question.asked", question=question
                            )
                        queued += 1
                    except IntegrityError:  # another worker queued it first
                        continue
        return queued
