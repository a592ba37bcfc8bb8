"""The question events: the feed frame each sends its owner, and the wake of its waiters.

Published by mesh.questions.services only, after commit. The pending-question item is
FeedQuestionSerializer's, PendingQuestionSerializer's REST shape with its context cut.
"""

from collections.abc import Mapping
from typing import Any

from makima_site.formats import camel_keys, timestamp
from makima_site.observability.metrics import question_settled, settlement_committed_at
from mesh.events.groups import owner_group
from mesh.events.publisher import OWNER_EVENT_MESSAGE_TYPE, send
from mesh.models import Question
from mesh.questions.serializers import FeedQuestionSerializer
from mesh.wakeups.transports import WAKE_MESSAGE_TYPE, Wake


def pending_question_item(question: "Question | Mapping[str, Any]") -> dict[str, Any]:
    """A pending question (or its list row) as the feed sends it (camelCase, as the REST
    renderer writes it)."""
    return camel_keys(FeedQuestionSerializer(question).data)


def outcome(question: Question) -> dict[str, Any]:
    """What a woken waiter needs to answer without reading the row again."""
    return {"status": question.status, "response": question.response, "reason": question.reason}


def _owner_event(question: Question, event: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return owner_group(question.owner_id), {"type": OWNER_EVENT_MESSAGE_TYPE, "event": event}


def _wake(question: Question) -> Wake:
    """The wake, built after commit: it carries the commit's time (makima_wake_latency_seconds),
    and the question's time to settle is observed here (makima_question_settle_seconds)."""
    settled_at, created_at = question.settled_at, getattr(question, "created_at", None)
    if settled_at is not None and created_at is not None:
        question_settled(question.status, (settled_at - created_at).total_seconds())
    return {
        "type": WAKE_MESSAGE_TYPE,
        "question_id": str(question.id),
        "outcome": {**outcome(question), "committed_at": settlement_committed_at()},
    }


def publish_question_asked(question: Question) -> None:
    send(
        [
            _owner_event(
                question, {"type": "question.asked", "question": pending_question_item(question)}
            )
        ]
    )


def publish_question_answered(question: Question) -> None:
    event = {
        "type": "question.answered",
        "questionId": str(question.id),
        "response": question.response,
        "answeredAt": timestamp(question.answered_at),
    }
    send([_owner_event(question, event)], wake=_wake(question))


def publish_question_settled(question: Question) -> None:
    """question.declined, question.cancelled or question.expired: every open page drops the
    card, and the question's waiters return with the status and reason."""
    event = {
        "type": f"question.{question.status}",
        "questionId": str(question.id),
        "status": question.status,
        "reason": question.reason,
    }
    send([_owner_event(question, event)], wake=_wake(question))
