"""Events on the channel layer, published by services only, after commit.

Two kinds of group:
- WAKE_GROUP: every server process's wake hub listens here; a message says "question X
  settled" (answered or expired) so blocked asks/polls in any process return at once.
- owner_group(owner_id): the owner's live feed sockets; messages carry the frame to send.
A failed publish is logged and swallowed: the row is already committed, and waiters make a
final database check at their deadline, so a lost wake delays an answer but never loses it.
"""

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

WAKE_GROUP = "mesh.wakeups"
WAKE_MESSAGE_TYPE = "question.settled"
OWNER_EVENT_MESSAGE_TYPE = "owner.event"


def owner_group(owner_id: Any) -> str:
    return f"mesh.owner.{owner_id}"


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
        "createdAt": question.created_at.isoformat().replace("+00:00", "Z"),
        "multiSelect": question.multi_select,
        "questionType": question.question_type,
    }
    if question.directive_id is not None:
        item["directiveId"] = str(question.directive_id)
        item["directiveTitle"] = question.directive.title
    return item


def _send(group: str, message: dict[str, Any]) -> None:
    try:
        async_to_sync(get_channel_layer().group_send)(group, message)
    except Exception:
        logger.exception("Could not publish %s to the channel layer", message.get("type"))


def publish_question_asked(question) -> None:
    _send(
        owner_group(question.owner_id),
        {
            "type": OWNER_EVENT_MESSAGE_TYPE,
            "event": {"type": "question.asked", "question": question_payload(question)},
        },
    )


def publish_question_answered(question) -> None:
    _send(WAKE_GROUP, {"type": WAKE_MESSAGE_TYPE, "question_id": str(question.id)})
    _send(
        owner_group(question.owner_id),
        {
            "type": OWNER_EVENT_MESSAGE_TYPE,
            "event": {
                "type": "question.answered",
                "questionId": str(question.id),
                "response": question.response,
                "answeredAt": question.answered_at.isoformat().replace("+00:00", "Z"),
            },
        },
    )


def publish_question_expired(question) -> None:
    _send(WAKE_GROUP, {"type": WAKE_MESSAGE_TYPE, "question_id": str(question.id)})
    _send(
        owner_group(question.owner_id),
        {
            "type": OWNER_EVENT_MESSAGE_TYPE,
            "event": {"type": "question.expired", "questionId": str(question.id)},
        },
    )
