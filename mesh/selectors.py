"""Reads of the mesh app, scoped to their owner."""

import uuid

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from mesh.models import ApiToken, Question, Task


def api_token_list(*, owner: AbstractBaseUser) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(owner=owner)


def task_list(*, owner: AbstractBaseUser) -> QuerySet[Task]:
    return Task.objects.filter(owner=owner).select_related("directive")


def question_pending_list(*, owner: AbstractBaseUser) -> QuerySet[Question]:
    """The owner's pending questions, oldest first."""
    return (
        Question.objects.filter(owner=owner, status=Question.Status.PENDING)
        .select_related("task", "directive")
        .order_by("created_at", "id")
    )


def question_get_for_owner(*, owner: AbstractBaseUser, question_id: uuid.UUID) -> Question | None:
    return (
        Question.objects.filter(owner=owner, pk=question_id)
        .select_related("task", "directive", "answered_by")
        .first()
    )


def question_for_task(*, task: Task, question_id: uuid.UUID) -> Question | None:
    """The task's own question; another task's is None (as if it did not exist)."""
    return Question.objects.filter(task=task, pk=question_id).first()


def question_outcome(*, question_id: uuid.UUID) -> tuple[str, str | None] | None:
    """(status, response) of a question, or None when it is gone. One indexed read."""
    return Question.objects.filter(pk=question_id).values_list("status", "response").first()
