"""What the two waiting supervisor endpoints do: ask and poll, each a coroutine.

The database steps are mesh.questions.steps (one sync function each, in a worker thread,
so nothing holds a connection while waiting); the wait itself is
mesh.wakeups.wait.wait_until_settled; the timeout policy is mesh.questions.policy. The HTTP
side (body, size, method, hang-ups) is mesh.questions.consumers.

A wait ends at the policy's deadline or at the question's time to live, whichever comes
first; at its time to live a question expires (408 to an ask, 404 to a poll).
"""

import functools
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings
from django.utils import timezone
from djangorestframework_camel_case.settings import api_settings as camel_settings
from djangorestframework_camel_case.util import camelize

from makima_site.errors import NotFound
from makima_site.observability.metrics import waiter_replied
from mesh.models import Question
from mesh.questions import steps
from mesh.questions.policy import AskWait, ask_wait
from mesh.questions.serializers import AskQuestionResultSerializer
from mesh.questions.services import REASON_TIMED_OUT, REASON_TTL
from mesh.questions.steps import AskPlan, AskResult, Outcome, Reply
from mesh.wakeups.wait import wait_until_settled

Status = Question.Status
# The first wait of an ask that attached to an earlier question (the same Idempotency-Key)
# ends at once with this marker; the ask then waits on that question instead.
_ATTACHED = "attached"
# What the task hears of a question that ended: 200 (with its status) or 408.
_SETTLED_STATUS: dict[str, int] = {
    Status.ANSWERED: 200,
    Status.DECLINED: 200,
    Status.CANCELLED: 200,
    Status.EXPIRED: 408,
}


def _result(status: int, outcome: Outcome, *, still_pending: bool = False) -> Reply:
    result = AskResult(
        question_id=outcome.question_id,
        response=outcome.response if outcome.status == Status.ANSWERED else None,
        timed_out=outcome.status == Status.EXPIRED,
        still_pending=still_pending,
        status=outcome.status,
        reason=outcome.reason,
    )
    body = camelize(AskQuestionResultSerializer(result).data, **camel_settings.JSON_UNDERSCOREIZE)
    return Reply(status, body)


def woken_outcome(question_id: uuid.UUID, wake: dict[str, Any]) -> Outcome | None:
    """The outcome a wake carries (mesh.questions.events), or None to read the row instead."""
    status = wake.get("status")
    if status not in _SETTLED_STATUS:
        return None
    waiter_replied(wake.get("committed_at"))  # makima_wake_latency_seconds
    return Outcome(question_id, status, wake.get("response"), wake.get("reason"))


async def _wait(
    question_id: uuid.UUID,
    seconds: Callable[[], float],
    first_read: Callable[[], Awaitable[Outcome]] | None = None,
) -> tuple[Outcome, bool]:
    """Wait up to seconds() or to the question's time to live, whichever comes first.

    Returns the last outcome and whether the time to live is what ended a pending wait.
    """
    ttl_first = False

    def timeout(first: Outcome) -> float:
        nonlocal ttl_first
        wait = seconds()
        if first.expires_at is None:
            return wait
        until_expiry = max(0.0, (first.expires_at - timezone.now()).total_seconds())
        ttl_first = until_expiry <= wait
        return min(wait, until_expiry)

    outcome = await wait_until_settled(
        question_id,
        timeout=timeout,
        read=functools.partial(steps.read_outcome, question_id),
        first_read=first_read,
        from_wake=functools.partial(woken_outcome, question_id),
    )
    return outcome, ttl_first and outcome.status == Status.PENDING


def _ask_wait(plan: AskPlan) -> AskWait:
    if plan.non_blocking:
        return AskWait(0.0, withdraw_at_deadline=False)
    return ask_wait(
        phaseguard=plan.phaseguard,
        reconcile_mode=plan.reconcile_mode,
        timeout_seconds=plan.timeout_seconds,
        block_wait_seconds=settings.MESH_BLOCK_WAIT_SECONDS,
        auto_timeout_seconds=settings.MESH_AUTO_TIMEOUT_SECONDS,
    )


# --- the two flows ---------------------------------------------------------------------------
async def ask(raw_key: str | None, body: bytes, raw_idempotency_key: str | None = None) -> Reply:
    # The id is chosen here so the waiter registers before the row exists: creating the row
    # is then the "read after register", and no wake can slip between the two.
    question_id = uuid.uuid4()
    plan: AskPlan | None = None

    async def begin() -> Outcome:
        nonlocal plan
        plan = await steps.begin_ask(raw_key, body, question_id, raw_idempotency_key)
        return Outcome(question_id, _ATTACHED) if plan.attached else plan.outcome

    def seconds() -> float:
        assert plan is not None  # asked once the first read returned
        return _ask_wait(plan).seconds

    outcome, ttl_ended = await _wait(question_id, seconds, begin)
    assert plan is not None
    if plan.attached:
        # The retry of an earlier ask: wait on its question, from now, per the policy.
        question_id = plan.outcome.question_id
        outcome, ttl_ended = await _wait(question_id, seconds)
    if plan.non_blocking:
        return _result(200, outcome)
    if outcome.status == Status.PENDING:
        if ttl_ended:
            outcome = await steps.expire(question_id, REASON_TTL)
        elif _ask_wait(plan).withdraw_at_deadline:
            outcome = await steps.expire(question_id, REASON_TIMED_OUT)
        else:
            return _result(200, outcome, still_pending=True)
    if outcome.status in _SETTLED_STATUS:
        return _result(_SETTLED_STATUS[outcome.status], outcome)
    raise NotFound("Question not found.")


async def poll(raw_key: str | None, raw_question_id: str) -> Reply:
    try:
        question_id = uuid.UUID(raw_question_id)
    except ValueError:
        await steps.begin_poll(raw_key, None)  # 401/403/404 for the caller, as for any other id
        raise NotFound("Question not found.") from None
    outcome, ttl_ended = await _wait(
        question_id,
        lambda: float(settings.MESH_POLL_WAIT_SECONDS),
        functools.partial(steps.begin_poll, raw_key, question_id),
    )
    if outcome.status == Status.PENDING:
        if not ttl_ended:
            return _result(200, outcome, still_pending=True)
        outcome = await steps.expire(question_id, REASON_TTL)
    if outcome.status in (Status.ANSWERED, Status.DECLINED, Status.CANCELLED):
        return _result(200, outcome)
    raise NotFound("Question not found.")
