"""The database steps of the waiting endpoints, and the values they hand the flows.

Each step is ONE sync function run in a worker thread that closes its connection there
(makima_site.db.db_step). The names are public so tests can wrap a step (count reads,
pause creation).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rest_framework import exceptions as drf_exceptions
from rest_framework import serializers as drf_serializers

from directives.models import Directive
from makima_site import throttles
from makima_site.db import db_step
from makima_site.errors import NotFound
from makima_site.idempotency import idempotency_key as parse_idempotency_key
from makima_site.idempotency import request_fingerprint
from makima_site.parsers import loads_camel
from mesh.credentials.authentication import task_from_tool_key
from mesh.models import Question
from mesh.questions import selectors, services
from mesh.questions.serializers import AskQuestionSerializer

GONE = "gone"  # the row no longer exists (its task was deleted)


@dataclass(frozen=True)
class Outcome:
    """What a waiter learns from the row (or a wake): status, response, reason."""

    question_id: uuid.UUID
    status: str
    response: str | None = None
    reason: str | None = None
    expires_at: datetime | None = None

    @property
    def settled(self) -> bool:
        return self.status != Question.Status.PENDING


@dataclass(frozen=True)
class AskPlan:
    """What the ask's first step learned: the question and how its ask waits."""

    outcome: Outcome
    attached: bool  # an earlier ask with the same Idempotency-Key created the question
    non_blocking: bool
    phaseguard: bool
    reconcile_mode: str
    timeout_seconds: int


@dataclass(frozen=True)
class AskResult:
    """The reply body of ask and poll, rendered by AskQuestionResultSerializer."""

    question_id: uuid.UUID
    response: str | None
    timed_out: bool
    still_pending: bool
    status: str
    reason: str | None


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    headers: tuple[tuple[bytes, bytes], ...] = ()


def _parse_json(body: bytes) -> Any:
    """The body as data with snake_case keys (makima_site.parsers: nesting bounded)."""
    try:
        return loads_camel(body.decode("utf-8"))
    except ValueError as exc:
        raise drf_serializers.ValidationError(
            {"non_field_errors": [f"The body must be a JSON object: {exc}."]}
        ) from exc


def _outcome(question: Question) -> Outcome:
    """The question's outcome; one past its time to live is expired here and now (with its
    event), not only at the next sweep."""
    if question.is_past_ttl:
        services.question_expire(question_id=question.id, reason=services.REASON_TTL)
        expired = selectors.question_get_outcome(question_id=question.id)
        if expired is None:
            return Outcome(question.id, GONE)
        question = expired
    return Outcome(
        question.id, question.status, question.response, question.reason, question.expires_at
    )


@db_step
def begin_ask(
    raw_key: str | None, body: bytes, question_id: uuid.UUID, raw_idempotency_key: str | None
) -> AskPlan:
    """Authenticate the task, validate the body, record the question under `question_id`
    (or, for an Idempotency-Key used before, find the question it created)."""
    task = task_from_tool_key(raw_key)
    wait = throttles.throttle_check(throttles.ASK_SCOPE, task.pk)
    if wait is not None:
        raise drf_exceptions.Throttled(wait)
    idempotency_key = parse_idempotency_key(raw_idempotency_key)
    data = _parse_json(body)
    serializer = AskQuestionSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    fields = dict(serializer.validated_data)
    if idempotency_key is None:
        question = services.question_ask(task=task, question_id=question_id, **fields)
        attached = False
    else:
        question, created = services.question_ask_once(
            task=task,
            idempotency_key=idempotency_key,
            request_hash=request_fingerprint(fields),
            question_id=question_id,
            **fields,
        )
        attached = not created
    directive = task.directive
    return AskPlan(
        outcome=_outcome(question),
        attached=attached,
        non_blocking=question.non_blocking,
        phaseguard=question.phaseguard,
        reconcile_mode=directive.reconcile_mode if directive else Directive.ReconcileMode.AUTO,
        timeout_seconds=question.timeout_seconds,
    )


@db_step
def begin_poll(raw_key: str | None, question_id: uuid.UUID | None) -> Outcome:
    """Authenticate the task and read its question; an expired or unknown one is 404."""
    task = task_from_tool_key(raw_key)
    question = (
        selectors.question_get_for_task(task=task, question_id=question_id) if question_id else None
    )
    if question is None:
        raise NotFound("Question not found.")
    outcome = _outcome(question)
    if outcome.status == Question.Status.EXPIRED:
        raise NotFound("Question not found.")
    return outcome


@db_step
def read_outcome(question_id: uuid.UUID) -> Outcome:
    question = selectors.question_get_outcome(question_id=question_id)
    return Outcome(question_id, GONE) if question is None else _outcome(question)


@db_step
def expire(question_id: uuid.UUID, reason: str) -> Outcome:
    """Expire the pending question; if another settlement won the race, return that one."""
    services.question_expire(question_id=question_id, reason=reason)
    question = selectors.question_get_outcome(question_id=question_id)
    return Outcome(question_id, GONE) if question is None else _outcome(question)
