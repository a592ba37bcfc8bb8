"""Writes of questions: ask, answer, expire. Each runs in a transaction; its event goes out
only after commit (mesh.questions.events)."""

import uuid
from functools import partial

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from makima_site.errors import ApplicationError, Conflict, Forbidden, NotFound
from mesh.models import DEFAULT_TIMEOUT_SECONDS, MAX_RESPONSE_LENGTH, Question, Task
from mesh.questions import events


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
    question_id: uuid.UUID | None = None,
) -> Question:
    """Record a question from a directive task; the owner's feed hears of it after commit.

    Input is validated by the caller's serializer (bounds, types, choices). `question_id`
    lets a waiter register for the question's wake before the row exists.
    """
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
    )
    transaction.on_commit(partial(events.publish_question_asked, row))
    return row


def _question_for_answer(question_id: uuid.UUID | str, owner: User) -> Question:
    """check_*: the question exists, is this owner's, and can still be answered."""
    row = Question.objects.filter(pk=question_id).first()
    if row is None or row.status == Question.Status.EXPIRED:
        raise NotFound("Question not found.")
    if row.owner_id != owner.pk:
        raise Forbidden("Not your question.")
    if row.status == Question.Status.ANSWERED:
        raise Conflict(
            "This question was already answered; the first answer stands.",
            code="ALREADY_ANSWERED",
        )
    return row


@transaction.atomic
def question_answer(*, question_id: uuid.UUID | str, owner: User, response: str) -> Question:
    """Answer a pending question. Exactly one of many concurrent answers wins.

    Raises NotFound (unknown or withdrawn), Forbidden (another owner's), Conflict
    ALREADY_ANSWERED, or a VALIDATION_ERROR for an empty or oversized response.
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
    row = _question_for_answer(question_id, owner)
    now = timezone.now()
    won = Question.objects.filter(pk=row.pk, status=Question.Status.PENDING).update(
        status=Question.Status.ANSWERED,
        response=response,
        answered_at=now,
        answered_by=owner,
        updated_at=now,
    )
    if not won:
        # Lost a race with another answer or the auto timeout: report what happened.
        _question_for_answer(question_id, owner)
        raise Conflict("This question was settled meanwhile.", code="ALREADY_ANSWERED")
    row.status = Question.Status.ANSWERED
    row.response = response
    row.answered_at = row.updated_at = now
    row.answered_by = owner
    transaction.on_commit(partial(events.publish_question_answered, row))
    return row


@transaction.atomic
def question_expire(*, question_id: uuid.UUID | str) -> bool:
    """Withdraw a pending question (auto-mode timeout). False when an answer won the race."""
    now = timezone.now()
    expired = Question.objects.filter(pk=question_id, status=Question.Status.PENDING).update(
        status=Question.Status.EXPIRED, updated_at=now
    )
    if expired:
        row = Question.objects.get(pk=question_id)
        transaction.on_commit(partial(events.publish_question_expired, row))
    return bool(expired)
