"""Events on the channel layer, published by services only, after commit.

Two kinds of group:
- WAKE_GROUP: every server process's wake hub listens here; a message says "question X
  settled" (answered or expired) and how, so blocked asks/polls in any process return at
  once. The publishing process wakes its own waiters directly first (wakeups.wake_local).
- owner_group(owner_id): the owner's live feed sockets; messages carry the frame to send.
A failed publish is logged and swallowed: the row is already committed, and waiters make a
final database check at their deadline, so a lost wake delays an answer but never loses it.
"""

import asyncio
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from mesh.wakeups import WAKE_GROUP, WAKE_MESSAGE_TYPE, wake_local

logger = logging.getLogger(__name__)

__all__ = ["WAKE_GROUP", "WAKE_MESSAGE_TYPE", "OWNER_EVENT_MESSAGE_TYPE"]

OWNER_EVENT_MESSAGE_TYPE = "owner.event"


def owner_group(owner_id: Any) -> str:
    return f"mesh.owner.{owner_id}"


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


async def _publish(messages: list[tuple[str, dict[str, Any]]], wake: dict | None) -> None:
    if wake is not None:
        wake_local(wake["question_id"], wake["outcome"])
    layer = get_channel_layer()
    results = await asyncio.gather(
        *(layer.group_send(group, message) for group, message in messages),
        return_exceptions=True,
    )
    for (_, message), result in zip(messages, results, strict=True):
        if isinstance(result, BaseException):
            logger.error(
                "Could not publish %s to the channel layer",
                message.get("type"),
                exc_info=result,
            )


def _send(messages: list[tuple[str, dict[str, Any]]], wake: dict | None = None) -> None:
    """Publish the messages (concurrently, one hop to the event loop) after waking this
    process's own waiters; a failure is logged, never raised (see the module doc)."""
    try:
        async_to_sync(_publish)(messages, wake)
    except Exception:
        logger.exception("Could not publish %s", [message.get("type") for _, message in messages])


def _settled(question, outcome: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return (
        WAKE_GROUP,
        {"type": WAKE_MESSAGE_TYPE, "question_id": str(question.id), "outcome": outcome},
    )


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
    outcome = {"status": "answered", "response": question.response}
    settled = _settled(question, outcome)
    _send(
        [
            settled,
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
        wake=settled[1],
    )


def publish_question_expired(question) -> None:
    settled = _settled(question, {"status": "expired", "response": None})
    _send(
        [
            settled,
            (
                owner_group(question.owner_id),
                {
                    "type": OWNER_EVENT_MESSAGE_TYPE,
                    "event": {"type": "question.expired", "questionId": str(question.id)},
                },
            ),
        ],
        wake=settled[1],
    )
