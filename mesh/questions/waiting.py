"""What the two waiting supervisor endpoints do: ask and poll, each a coroutine.

Every database step is ONE sync function run in a worker thread that closes its connection
in that same thread before returning (makima_site.db.db_step), so nothing holds a connection
while waiting; the wait itself is mesh.wakeups.wait.wait_until_settled. The timeout policy
is mesh.questions.policy. The HTTP side (body, size, method, hang-ups) is
mesh.questions.consumers.

The names below are public so tests can wrap a step (count reads, pause creation).
"""

import functools
import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from djangorestframework_camel_case.settings import api_settings as camel_settings
from djangorestframework_camel_case.util import camelize, underscoreize
from rest_framework import exceptions as drf_exceptions
from rest_framework import serializers as drf_serializers

from directives.models import Directive
from makima_site import throttles
from makima_site.db import db_step
from makima_site.errors import NotFound
from mesh.credentials.authentication import task_from_tool_key
from mesh.models import Question
from mesh.questions import selectors, services
from mesh.questions.policy import ask_wait
from mesh.questions.serializers import AskQuestionResultSerializer, AskQuestionSerializer
from mesh.wakeups.wait import wait_until_settled

GONE = "gone"  # the row no longer exists (its task was deleted)


@dataclass(frozen=True)
class Outcome:
    """What a waiter learns from the row: status and, once answered, the response."""

    question_id: uuid.UUID
    status: str
    response: str | None = None

    @property
    def settled(self) -> bool:
        return self.status != Question.Status.PENDING


@dataclass(frozen=True)
class AskPlan:
    """What the ask's first step learned: the new question and how its ask waits."""

    outcome: Outcome
    non_blocking: bool
    phaseguard: bool
    reconcile_mode: str
    timeout_seconds: int


@dataclass(frozen=True)
class AskResult:
    """The reply body of ask and poll, rendered by AskQuestionResultSerializer."""

    question_id: uuid.UUID
    response: str | None
    timed_out: bool = False
    still_pending: bool = False


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    headers: tuple[tuple[bytes, bytes], ...] = ()


def _result(
    status: int, outcome: Outcome, *, timed_out: bool = False, still_pending: bool = False
) -> Reply:
    answered = outcome.status == Question.Status.ANSWERED
    result = AskResult(
        question_id=outcome.question_id,
        response=outcome.response if answered else None,
        timed_out=timed_out,
        still_pending=still_pending,
    )
    body = camelize(AskQuestionResultSerializer(result).data, **camel_settings.JSON_UNDERSCOREIZE)
    return Reply(status, body)


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise drf_serializers.ValidationError(
            {"non_field_errors": [f"The body must be a JSON object: {exc}."]}
        ) from exc


# --- database steps: one sync function each, run in a worker thread ---------------------------
@db_step
def begin_ask(raw_key: str | None, body: bytes, question_id: uuid.UUID) -> AskPlan:
    """Authenticate the task, validate the body, record the question under `question_id`."""
    task = task_from_tool_key(raw_key)
    wait = throttles.throttle_check(throttles.ASK_SCOPE, task.pk)
    if wait is not None:
        raise drf_exceptions.Throttled(wait)
    data = underscoreize(_parse_json(body), **camel_settings.JSON_UNDERSCOREIZE)
    serializer = AskQuestionSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    question = services.question_ask(
        task=task, question_id=question_id, **serializer.validated_data
    )
    directive = task.directive
    return AskPlan(
        outcome=Outcome(question.id, question.status),
        non_blocking=question.non_blocking,
        phaseguard=question.phaseguard,
        reconcile_mode=directive.reconcile_mode if directive else Directive.ReconcileMode.AUTO,
        timeout_seconds=question.timeout_seconds,
    )


@db_step
def begin_poll(raw_key: str | None, question_id: uuid.UUID | None) -> Outcome:
    """Authenticate the task and read its question; anything else is 404."""
    task = task_from_tool_key(raw_key)
    question = (
        selectors.question_get_for_task(task=task, question_id=question_id) if question_id else None
    )
    if question is None or question.status == Question.Status.EXPIRED:
        raise NotFound("Question not found.")
    return Outcome(question.id, question.status, question.response)


@db_step
def read_outcome(question_id: uuid.UUID) -> Outcome:
    row = selectors.question_get_outcome(question_id=question_id)
    if row is None:
        return Outcome(question_id, GONE)
    return Outcome(question_id, *row)


@db_step
def withdraw(question_id: uuid.UUID) -> Outcome:
    """Expire the pending question; if an answer won the race, return that answer."""
    if services.question_expire(question_id=question_id):
        return Outcome(question_id, Question.Status.EXPIRED)
    row = selectors.question_get_outcome(question_id=question_id)
    return Outcome(question_id, *row) if row else Outcome(question_id, GONE)


def woken_outcome(question_id: uuid.UUID, wake: dict[str, Any]) -> Outcome | None:
    """The outcome a wake carries (mesh.questions.events), or None to read the row instead."""
    status = wake.get("status")
    if status not in (Question.Status.ANSWERED, Question.Status.EXPIRED):
        return None
    return Outcome(question_id, status, wake.get("response"))


# --- the two flows ---------------------------------------------------------------------------
async def ask(raw_key: str | None, body: bytes) -> Reply:
    # The id is chosen here so the waiter registers before the row exists: creating the row
    # is then the "read after register", and no wake can slip between the two.
    question_id = uuid.uuid4()
    plan: AskPlan | None = None
    seconds, withdraw_at_deadline = 0.0, False

    async def begin() -> Outcome:
        nonlocal plan, seconds, withdraw_at_deadline
        plan = await begin_ask(raw_key, body, question_id)
        if not plan.non_blocking:
            wait = ask_wait(
                phaseguard=plan.phaseguard,
                reconcile_mode=plan.reconcile_mode,
                timeout_seconds=plan.timeout_seconds,
                block_wait_seconds=settings.MESH_BLOCK_WAIT_SECONDS,
                auto_timeout_seconds=settings.MESH_AUTO_TIMEOUT_SECONDS,
            )
            seconds, withdraw_at_deadline = wait.seconds, wait.withdraw_at_deadline
        return plan.outcome

    outcome = await wait_until_settled(
        question_id,
        timeout=lambda _first: seconds,
        read=functools.partial(read_outcome, question_id),
        first_read=begin,
        from_wake=functools.partial(woken_outcome, question_id),
    )
    assert plan is not None  # begin() ran, or raised
    if plan.non_blocking:
        return _result(200, plan.outcome)
    if outcome.status == Question.Status.PENDING:
        if not withdraw_at_deadline:
            return _result(200, outcome, still_pending=True)
        outcome = await withdraw(question_id)
    if outcome.status == Question.Status.ANSWERED:
        return _result(200, outcome)
    if outcome.status == Question.Status.EXPIRED:
        return _result(408, outcome, timed_out=True)
    raise NotFound("Question not found.")


async def poll(raw_key: str | None, raw_question_id: str) -> Reply:
    try:
        question_id = uuid.UUID(raw_question_id)
    except ValueError:
        await begin_poll(raw_key, None)  # 401/403/404 for the caller, as for any other id
        raise NotFound("Question not found.") from None
    outcome = await wait_until_settled(
        question_id,
        timeout=float(settings.MESH_POLL_WAIT_SECONDS),
        read=functools.partial(read_outcome, question_id),
        first_read=functools.partial(begin_poll, raw_key, question_id),
        from_wake=functools.partial(woken_outcome, question_id),
    )
    if outcome.status == Question.Status.ANSWERED:
        return _result(200, outcome)
    if outcome.status == Question.Status.PENDING:
        return _result(200, outcome, still_pending=True)
    raise NotFound("Question not found.")
