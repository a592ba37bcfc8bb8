"""The question events: the feed frame each sends its owner, and the wake of its waiters.

Published by mesh.questions.services only, after commit. The pending-question item is
PendingQuestionSerializer's, the same the REST list returns.
"""

from typing import Any

from djangorestframework_camel_case.settings import api_settings as camel_settings
from djangorestframework_camel_case.util import camelize

from makima_site.formats import timestamp
from mesh.events.groups import owner_group
from mesh.events.publisher import OWNER_EVENT_MESSAGE_TYPE, send
from mesh.models import Question
from mesh.questions.serializers import PendingQuestionSerializer
from mesh.wakeups.transports import WAKE_MESSAGE_TYPE, Wake


def pending_question_item(question: Question) -> dict[str, Any]:
    """A pending question as the feed sends it (camelCase, as the REST renderer writes it)."""
    item: dict[str, Any] = camelize(
        PendingQuestionSerializer(question).data, **camel_settings.JSON_UNDERSCOREIZE
    )
    return item


def _owner_event(question: Question, event: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return owner_group(question.owner_id), {"type": OWNER_EVENT_MESSAGE_TYPE, "event": event}


def _wake(question: Question, outcome: dict[str, Any]) -> Wake:
    return {"type": WAKE_MESSAGE_TYPE, "question_id": str(question.id), "outcome": outcome}


def publish_question_asked(question: Question) -> None:
    send(
        [
            _owner_event(
                question, {"type": "question.asked", "question": pending_question_item(question)}
            )
        ]
    )


def publish_question_answered(question: Question) -> None:
    send(
        [
            _owner_event(
                question,
                {
                    "type": "question.answered",
                    "questionId": str(question.id),
                    "response": question.response,
                    "answeredAt": timestamp(question.answered_at),
                },
            )
        ],
        wake=_wake(question, {"status": "answered", "response": question.response}),
    )


def publish_question_expired(question: Question) -> None:
    send(
        [_owner_event(question, {"type": "question.expired", "questionId": str(question.id)})],
        wake=_wake(question, {"status": "expired", "response": None}),
    )
