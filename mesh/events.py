"""Events, published by services only, after commit.

Two kinds of destination:
- Wakes: a message says "question X settled" (answered or expired) and how, so blocked
  asks/polls in any process return at once. The publishing process wakes its own waiters
  directly (wakeups.wake_local); other processes hear it through Redis pub/sub when
  REDIS_URL is set (wakeups.publish_wake), the single embedded process also through the
  in-memory layer's WAKE_GROUP.
- owner_group(owner_id): the owner's live feed sockets; messages carry the frame to send.
A failed publish is logged and swallowed: the row is already committed, and waiters make a
final database check at their deadline, so a lost wake delays an answer but never loses it.
"""

import asyncio
import hashlib
import logging
import os
import weakref
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from mesh.wakeups import WAKE_GROUP, WAKE_MESSAGE_TYPE, publish_wake, wake_local

logger = logging.getLogger(__name__)

__all__ = ["WAKE_GROUP", "WAKE_MESSAGE_TYPE", "OWNER_EVENT_MESSAGE_TYPE"]

OWNER_EVENT_MESSAGE_TYPE = "owner.event"
CREDENTIAL_REVOKED_MESSAGE_TYPE = "credential.revoked"


def owner_group(owner_id: Any) -> str:
    return f"mesh.owner.{owner_id}"


def token_group(token_id: Any) -> str:
    """The feed sockets opened with one API token (closed when it is revoked)."""
    return f"mesh.token.{token_id}"


def session_group(session_key: str) -> str:
    """The feed sockets of one browser session (closed at logout). The session key is a
    secret: the group (a Redis key) is named by its hash."""
    return f"mesh.session.{hashlib.sha256(session_key.encode()).hexdigest()[:40]}"


def _timestamp(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


def question_payload(question) -> dict[str, Any]:
    """The pending-question item shared by GET /api/v1/mesh/questions and the feed.

    Beyond the reference's fields it carries taskName and directiveTitle (when there is a
    directive) so a reader sees names, not ids; select_related("task", "directive") first.
    """
    item: dict[str, Any] = {
        "questionId": str(question.id),
        "taskId": str(question.task_id),
        "taskName": question.task.name,
        "question": question.question,
        "choices": list(question.choices or []),
        "context": question.context,
        "createdAt": _timestamp(question.created_at),
        "multiSelect": question.multi_select,
        "questionType": question.question_type,
    }
    if question.directive_id is not None:
        item["directiveId"] = str(question.directive_id)
        item["directiveTitle"] = question.directive.title
    return item


# At most this many publishes use the channel layer at once per event loop; the rest wait
# their turn. Requests no longer wait for their publishes, so a burst would otherwise open
# more Redis connections than the layer's pool allows (100 in redis-py 8: "Too many
# connections", and the owner event was lost; seen in the soak).
PUBLISH_CONCURRENCY = 32
# Past this many publishes waiting for a slot, owner events (not credential revocations)
# are dropped (and counted) rather than queued: a process whose loop cannot keep up must not
# grow without bound. A socket that missed an event catches up from the snapshot of its next
# connection; wakes never wait here (the local wake comes first, Redis pub/sub is published
# by the request thread).
MAX_PUBLISH_BACKLOG = 1000
# This process's publish counters (shown by /_ops/wakehub).
publish_stats = {"waiting": 0, "inFlight": 0, "sent": 0, "failed": 0, "dropped": 0}
_slots: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]" = (
    weakref.WeakKeyDictionary()
)


def _publish_slots() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    slots = _slots.get(loop)
    if slots is None:
        slots = _slots[loop] = asyncio.Semaphore(PUBLISH_CONCURRENCY)
    return slots


async def _publish(messages: list[tuple[str, dict[str, Any]]], wake: dict | None) -> None:
    if wake is not None:
        wake_local(wake["question_id"], wake["outcome"])
        if not settings.REDIS_URL:
            # One process: its hub also listens on the in-memory layer's wake group.
            messages = [(WAKE_GROUP, wake), *messages]
    if not messages:
        return
    if publish_stats["waiting"] >= MAX_PUBLISH_BACKLOG:
        # Only feed events are optional; a revoked credential's close always goes out.
        kept = [(g, m) for g, m in messages if m.get("type") != OWNER_EVENT_MESSAGE_TYPE]
        before = publish_stats["dropped"]
        publish_stats["dropped"] += len(messages) - len(kept)
        if publish_stats["dropped"] != before and (
            before == 0 or before // 100 != publish_stats["dropped"] // 100
        ):
            logger.warning(
                "Publishing is %d messages behind; %d owner events dropped so far",
                publish_stats["waiting"],
                publish_stats["dropped"],
            )
        messages = kept
        if not messages:
            return
    layer = get_channel_layer()
    slots = _publish_slots()
    publish_stats["waiting"] += 1
    try:
        await slots.acquire()
    finally:
        publish_stats["waiting"] -= 1
    publish_stats["inFlight"] += 1
    try:
        results = await asyncio.gather(
            *(layer.group_send(group, message) for group, message in messages),
            return_exceptions=True,
        )
    finally:
        publish_stats["inFlight"] -= 1
        slots.release()
    for (_, message), result in zip(messages, results, strict=True):
        if isinstance(result, BaseException):
            publish_stats["failed"] += 1
            logger.error(
                "Could not publish %s to the channel layer",
                message.get("type"),
                exc_info=result,
            )
        else:
            publish_stats["sent"] += 1


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop of the server process that runs this thread's request, if any.

    asgiref records it for the threads it runs sync code in (Django's views, Channels'
    database_sync_to_async); a management command or a plain test has none.
    """
    threadlocal = SyncToAsync.threadlocal
    loop = getattr(threadlocal, "main_event_loop", None)
    if loop is None or getattr(threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    return loop if loop.is_running() and not loop.is_closed() else None


def _send(messages: list[tuple[str, dict[str, Any]]], wake: dict | None = None) -> None:
    """Publish after commit; a failure is logged, never raised (see the module doc).

    A wake goes first to the other processes (Redis pub/sub, mesh.wakeups.publish_wake),
    then to this process's own waiters and, with the messages, to their channel-layer
    groups, on the server's event loop. In a server the request's thread does not wait for
    that (it still holds its database connection, and a busy loop must not hold the pool);
    elsewhere it runs to the end here.
    """
    if wake is not None and settings.REDIS_URL:
        try:
            publish_wake(wake)
        except Exception:
            logger.exception("Could not publish a wake to Redis")
    loop = _server_loop()
    try:
        if loop is not None:
            asyncio.run_coroutine_threadsafe(_publish(messages, wake), loop)
        else:
            async_to_sync(_publish)(messages, wake)
    except Exception:
        logger.exception("Could not publish %s", [message.get("type") for _, message in messages])


def _settled(question, outcome: dict[str, Any]) -> dict[str, Any]:
    return {"type": WAKE_MESSAGE_TYPE, "question_id": str(question.id), "outcome": outcome}


def publish_question_asked(question) -> None:
    _send(
        [
            (
                owner_group(question.owner_id),
                {
                    "type": OWNER_EVENT_MESSAGE_TYPE,
                    "event": {"type": "question.asked", "question": question_payload(question)},
                },
            )
        ]
    )


def publish_question_answered(question) -> None:
    _send(
        [
            (
                owner_group(question.owner_id),
                {
                    "type": OWNER_EVENT_MESSAGE_TYPE,
                    "event": {
                        "type": "question.answered",
                        "questionId": str(question.id),
                        "response": question.response,
                        "answeredAt": _timestamp(question.answered_at),
                    },
                },
            ),
        ],
        wake=_settled(question, {"status": "answered", "response": question.response}),
    )


def publish_question_expired(question) -> None:
    _send(
        [
            (
                owner_group(question.owner_id),
                {
                    "type": OWNER_EVENT_MESSAGE_TYPE,
                    "event": {"type": "question.expired", "questionId": str(question.id)},
                },
            ),
        ],
        wake=_settled(question, {"status": "expired", "response": None}),
    )


def publish_credential_revoked(group: str) -> None:
    """Close the feed sockets authenticated by a revoked token or an ended session."""
    _send([(group, {"type": CREDENTIAL_REVOKED_MESSAGE_TYPE})])
