"""Reads of questions: an owner's are scoped to the owner, a task's to the task."""

import uuid
from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet

from directives.models import Directive
from mesh.models import Question, Task
from mesh.questions.serializers import PENDING_ITEM_FIELDS


def question_list_pending(*, owner: User) -> QuerySet[Question]:
    """The owner's pending questions (not past their time to live), oldest first."""
    return Question.objects.filter(owner=owner).pending().order_by("created_at", "id")


def question_list_pending_rows(*, owner: User, limit: int) -> tuple[list[dict[str, Any]], int]:
    """The owner's `limit` oldest pending questions as the rows their list items show, and
    how many are pending in all (counted only when the limit was reached)."""
    pending = question_list_pending(owner=owner)
    rows = list(pending.values(*PENDING_ITEM_FIELDS)[:limit])
    return rows, (pending.count() if len(rows) == limit else len(rows))


def question_list(*, owner: User) -> QuerySet[Question]:
    """The owner's questions of every status, newest first, with what their items show
    joined (task, directive, who settled), so a page of any size costs one query."""
    return (
        Question.objects.filter(owner=owner)
        .select_related("task", "directive", "settled_by")
        .order_by("-created_at", "-id")
    )


def question_admin_list(*, user: User) -> QuerySet[Question]:
    """What the admin shows `user`: every question to a superuser, else only their own."""
    questions = Question.objects.select_related("owner", "task", "directive", "settled_by")
    return questions if user.is_superuser else questions.filter(owner=user)


def question_admin_directive_choices(*, user: User) -> QuerySet[Directive]:
    """The directives the admin's question filter offers `user`."""
    directives = Directive.objects.select_related("owner").order_by("title")
    return directives if user.is_superuser else directives.filter(owner=user)


def question_get(*, owner: User, question_id: uuid.UUID) -> Question | None:
    """One of the owner's questions; another owner's is None (as if it did not exist)."""
    return (
        Question.objects.filter(owner=owner, pk=question_id)
        .select_related("task", "directive", "answered_by")
        .first()
    )


def question_get_for_task(*, task: Task, question_id: uuid.UUID) -> Question | None:
    """The task's own question; another task's is None (as if it did not exist)."""
    return Question.objects.filter(task=task, pk=question_id).first()


def question_get_outcome(*, question_id: uuid.UUID) -> Question | None:
    """The settlement fields of a question, or None when it is gone. One indexed read."""
    return (
        Question.objects.filter(pk=question_id)
        .only("id", "status", "response", "reason", "expires_at")
        .first()
    )
