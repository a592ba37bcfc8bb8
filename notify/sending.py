"""Sending one notification: compose it, send it by email or Apprise, record the result.

A notification carries the question, its choices, the task and directive, how long it may
wait, and the deep link /questions/<id>/; email adds the signed answer links. Reminders
and "expiring soon" messages are skipped for a question settled meanwhile.
"""

import logging
from datetime import timedelta

import apprise
from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from notify import crypto
from notify.links import answer_links, question_link
from notify.models import Notification, NotificationChannel

logger = logging.getLogger(__name__)
# Apprise's DEBUG lines carry the target URLs, which hold tokens: never below WARNING.
logging.getLogger("apprise").setLevel(logging.WARNING)
Kind = Notification.Kind


def compose(notification: Notification) -> tuple[str, str, bool]:
    """(subject, body, carries answer links)."""
    question = notification.question
    if question is None:
        return "Makima mesh", notification.text or "A test notification from Makima mesh.", False
    prefix = {Kind.REMINDER: "Reminder: ", Kind.EXPIRING: "Expiring soon: "}.get(
        Kind(notification.kind), ""
    )
    event = notification.event_type or "question.asked"
    subject = f"{prefix}{question.question[:80]}"
    if event != "question.asked" and notification.kind == Kind.EVENT:
        subject = f"{event}: {question.question[:80]}"
    lines = [question.question, ""]
    if question.choices:
        lines += ["Choices:", *(f"  - {c}" for c in question.choices), ""]
    task = question.task
    lines.append(f"Task: {task.name}")
    if question.directive is not None:
        lines.append(f"Directive: {question.directive.title}")
    left = question.expires_at - timezone.now()
    lines.append(f"It may wait {_duration(left)} (until {question.expires_at:%Y-%m-%d %H:%M} UTC).")
    lines += [f"Status: {question.status}", "", f"Open it: {question_link(question)}"]
    return subject, "\n".join(lines), question.status == "pending"


def _duration(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds >= 86400:
        return f"{seconds // 86400} day(s)"
    if seconds >= 3600:
        return f"{seconds // 3600} hour(s)"
    return f"{max(1, seconds // 60)} minute(s)"


def send(channel: NotificationChannel, notification: Notification) -> None:
    """Send it; raises on failure."""
    subject, body, with_links = compose(notification)
    target = crypto.decrypt(channel.target_encrypted)
    if channel.kind == NotificationChannel.Kind.EMAIL:
        if with_links and notification.question is not None:
            body += "\n\nAnswer from here (each link asks you to confirm):\n" + "\n".join(
                f"  {label}: {url}" for label, url in answer_links(notification.question)
            )
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [target])
        return
    sender = apprise.Apprise()
    if not sender.add(target):
        raise ValueError("the Apprise URL is not one Apprise knows")
    if not sender.notify(title=subject, body=body):
        raise RuntimeError("Apprise could not deliver the notification")
