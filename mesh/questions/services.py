"""Writes of questions: ask, and the four settlements (answer, decline, cancel, expire).

A question is pending until exactly one settlement wins: each is a conditional UPDATE from
pending (docs/architecture.md, "The question lifecycle"), so any number of concurrent
attempts on SQLite or PostgreSQL have one winner, and the losers learn what won. The
winner's event (feed frame and wake) goes out only after commit (mesh.questions.events).
"""

import uuid
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from makima_site.errors import ApplicationError, Conflict, Forbidden, NotFound
from makima_site.idempotency import IdempotencyKeyReused
from mesh.models import (
    DEFAULT_TIMEOUT_SECONDS,
    MAX_RESPONSE_LENGTH,
    Question,
    QuestionIdempotencyKey,
    Task,
)
from mesh.questions import events
from mesh.questions.errors import AlreadySettled, TooManyPending

Status = Question.Status
# The reasons a settlement records when nobody gave one.
REASON_TIMED_OUT = "timed out"
REASON_TTL = "time to live ran out"
REASON_TASK_FINISHED = "task finished"
REASON_TASK_DELETED = "task deleted"


# --- ask ---------------------------------------------------------------------------------------
@transaction.atomic
def question_ask(
    *,
    task: Task,
    question: str,
    choices: list[str] | None = None,
    context: str | None = None,
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS,
    phaseguard: bool = False,
    multi_select: bool = False,
    non_blocking: bool = False,
    question_type: str = Question.QuestionType.GENERAL,
    ttl_seconds: float | None = None,
    question_id: uuid.UUID | None = None,
) -> Question:
    """Record a question from a directive task (input validated by the caller's serializer);
    the owner's feed hears of it after commit. `question_id` lets a waiter register for its
    wake before the row exists. TooManyPending past MESH_MAX_PENDING_PER_TASK."""
    # The task's row lock serialises its concurrent asks, so the cap cannot be overrun.
    Task.objects.select_for_update().filter(pk=task.pk).first()
    limit = settings.MESH_MAX_PENDING_PER_TASK
    if Question.objects.filter(task=task).pending().count() >= limit:
        raise TooManyPending(
            f"This task already has {limit} pending questions (the limit); wait for answers "
            "or cancel some with DELETE /api/v1/mesh/supervisor/questions/{id}."
        )
    now = timezone.now()
    ttl = settings.MESH_QUESTION_TTL_SECONDS if ttl_seconds is None else ttl_seconds
    row = Question.objects.create(
        id=question_id or uuid.uuid4(),
        owner_id=task.owner_id,
        task=task,
        directive_id=task.directive_id,
        question=question,
        choices=list(choices or []),
        context=context,
        timeout_seconds=timeout_seconds,
        phaseguard=phaseguard,
        multi_select=multi_select,
        non_blocking=non_blocking,
        question_type=question_type,
        expires_at=now + timedelta(seconds=ttl),
    )
    transaction.on_commit(partial(events.publish_question_asked, row))
    return row


def question_ask_once(
    *, task: Task, idempotency_key: str, request_hash: str, **fields: Any
) -> tuple[Question, bool]:
    """question_ask() at most once per (task, key) within MESH_IDEMPOTENCY_SECONDS.

    Returns (the question, whether this call created it). A key already used with another
    body (another `request_hash`) raises IdempotencyKeyReused and changes nothing.
    Concurrent duplicates create one question: the unique (task, key) lets one insert win,
    and the others attach to it.
    """
    earlier = _question_for_key(task=task, key=idempotency_key, request_hash=request_hash)
    if earlier is not None:
        return earlier, False
    try:
        with transaction.atomic():
            row = question_ask(task=task, **fields)
            QuestionIdempotencyKey.objects.create(
                task=task, key=idempotency_key, question=row, request_hash=request_hash
            )
    except IntegrityError:
        winner = _question_for_key(task=task, key=idempotency_key, request_hash=request_hash)
        if winner is None:
            raise
        return winner, False
    return row, True


def _question_for_key(*, task: Task, key: str, request_hash: str) -> Question | None:
    """The question this task asked with this key within the window; forgets expired keys."""
    record = (
        QuestionIdempotencyKey.objects.select_related("question").filter(task=task, key=key).first()
    )
    if record is None:
        return None
    window = timedelta(seconds=settings.MESH_IDEMPOTENCY_SECONDS)
    if record.created_at <= timezone.now() - window:
        record.delete()
        return None
    if record.request_hash != request_hash:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different body; send a new key "
            "for a new question."
        )
    return record.question


# --- settlements ---------------------------------------------------------------------------------
def _settle(question_id: uuid.UUID | str, status: str, **fields: Any) -> datetime | None:
    """The conditional update from pending; when this call won, the settledAt it stored."""
    now = timezone.now()
    candidates = Question.objects.filter(pk=question_id)
    # Expiry also takes a question past its time to live; the others only a pending one.
    candidates = (
        candidates.filter(status=Status.PENDING)
        if status == Status.EXPIRED
        else candidates.pending()
    )
    if status == Status.ANSWERED:
        fields["answered_at"] = now
    won = candidates.update(status=status, settled_at=now, updated_at=now, **fields)
    return now if won else None


def _settled_row(question_id: uuid.UUID | str) -> Question:
    return Question.objects.get(pk=question_id)


def _settle_and_publish(
    question_id: uuid.UUID | str, status: str, **fields: Any
) -> Question | None:
    """_settle(), and for the winner its question.<status> event after commit; the settled
    row, or None when another settlement won."""
    if not _settle(question_id, status, **fields):
        return None
    row = _settled_row(question_id)
    transaction.on_commit(partial(events.publish_question_settled, row))
    return row


def _check_owner_can_settle(
    question_id: uuid.UUID | str, owner: User, *, answering: bool = False
) -> Question:
    """check_*: the question exists, is this owner's, and is still pending.

    NotFound (unknown, expired, or past its time to live), Forbidden (another owner's),
    Conflict ALREADY_ANSWERED (an answer to an answered one: the reference's code),
    AlreadySettled (otherwise settled).
    """
    row = Question.objects.filter(pk=question_id).first()
    if row is None or row.status == Status.EXPIRED or row.is_past_ttl:
        raise NotFound("Question not found.")
    if row.owner_id != owner.pk:
        raise Forbidden("Not your question.")
    if answering and row.status == Status.ANSWERED:
        raise Conflict(
            "This question was already answered; the first answer stands.",
            code="ALREADY_ANSWERED",
        )
    if row.status != Status.PENDING:
        raise AlreadySettled(row.status)
    return row


@transaction.atomic
def question_answer(*, question_id: uuid.UUID | str, owner: User, response: str) -> Question:
    """Answer a pending question. Exactly one of many concurrent settlements wins.

    Raises NotFound (unknown, expired), Forbidden (another owner's), Conflict
    ALREADY_ANSWERED or ALREADY_SETTLED, or a VALIDATION_ERROR for an empty or oversized
    response.
    """
    if not isinstance(response, str) or not response.strip():
        raise ApplicationError(
            "response must be a non-empty string.",
            code="VALIDATION_ERROR",
            details={"response": ["This field may not be blank."]},
        )
    if len(response) > MAX_RESPONSE_LENGTH:
        raise ApplicationError(
            f"response must be at most {MAX_RESPONSE_LENGTH} characters.",
            code="VALIDATION_ERROR",
            details={
                "response": [
                    f"Ensure this field has no more than {MAX_RESPONSE_LENGTH} characters."
                ]
            },
        )
    row = _check_owner_can_settle(question_id, owner, answering=True)
    now = _settle(
        question_id, Status.ANSWERED, response=response, answered_by=owner, settled_by=owner
    )
    if now is None:
        # Lost a race with another settlement: report what happened.
        _check_owner_can_settle(question_id, owner, answering=True)
        raise Conflict("This question was settled meanwhile.", code="ALREADY_SETTLED")
    # What the UPDATE stored, without reading the row again (the answer is the wake's path).
    row.status, row.response = Status.ANSWERED, response
    row.answered_at = row.settled_at = row.updated_at = now
    row.answered_by = row.settled_by = owner
    transaction.on_commit(partial(events.publish_question_answered, row))
    return row


@transaction.atomic
def question_decline(
    *,
    question_id: uuid.UUID | str,
    owner: User,
    reason: str | None = None,
    settled_by: User | None = None,
) -> Question:
    """The owner refuses to answer; the asking task hears `declined` with the reason.
    `settled_by` records who declined when it is not the owner (a superuser in the admin)."""
    _check_owner_can_settle(question_id, owner)
    row = _settle_and_publish(
        question_id, Status.DECLINED, reason=reason or None, settled_by=settled_by or owner
    )
    if row is None:
        _check_owner_can_settle(question_id, owner)
        raise AlreadySettled(_settled_row(question_id).status)
    return row


@transaction.atomic
def question_cancel(
    *, question_id: uuid.UUID | str, task: Task, reason: str | None = None
) -> Question:
    """The asking task withdraws its question. NotFound for another task's; AlreadySettled
    (with the status) once it is settled or past its time to live."""
    row = Question.objects.filter(pk=question_id, task=task).first()
    if row is None:
        raise NotFound("Question not found.")
    cancelled = _settle_and_publish(question_id, Status.CANCELLED, reason=reason or None)
    if cancelled is None:
        row = _settled_row(question_id)
        raise AlreadySettled(Status.EXPIRED if row.status == Status.PENDING else row.status)
    return cancelled


@transaction.atomic
def question_cancel_for_task(*, task: Task, reason: str) -> int:
    """Cancel every pending question of a task that ended or is being deleted; each one's
    waiters hear `cancelled` with the reason. Returns how many were cancelled."""
    pending = Question.objects.filter(task=task).pending().values_list("id", flat=True)
    return sum(
        _settle_and_publish(question_id, Status.CANCELLED, reason=reason) is not None
        for question_id in list(pending)
    )


@transaction.atomic
def question_expire(*, question_id: uuid.UUID | str, reason: str = REASON_TIMED_OUT) -> bool:
    """Expire a pending question (auto-mode timeout, or its time to live ran out); False
    when another settlement won the race."""
    return _settle_and_publish(question_id, Status.EXPIRED, reason=reason) is not None


def question_expire_due(*, batch: int = 1000) -> int:
    """The sweep: mark pending questions past their time to live expired, publishing
    question.expired for each. Several processes may sweep at once; each row is expired
    (and published) by exactly one. Returns how many this call expired."""
    expired = 0
    while True:
        due = list(
            Question.objects.past_ttl().order_by("expires_at").values_list("id", flat=True)[:batch]
        )
        expired += sum(question_expire(question_id=pk, reason=REASON_TTL) for pk in due)
        if len(due) < batch:
            return expired
