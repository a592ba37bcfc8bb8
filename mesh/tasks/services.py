"""Writes of tasks: create, update, rotate the tool key, delete."""

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from directives.models import Directive
from makima_site.errors import ApplicationError
from mesh.credentials import hashing
from mesh.models import RetiredToolKey, Task
from mesh.questions.services import (
    REASON_TASK_DELETED,
    REASON_TASK_FINISHED,
    question_cancel_for_task,
)

# A task in one of these has ended: its pending questions are cancelled.
TERMINAL_STATUSES = {Task.Status.DONE, Task.Status.FAILED, Task.Status.CANCELLED}


def _check_directive_owner(directive: Directive | None, owner_id: object) -> None:
    """check_*: a task's directive is its owner's; another owner's looks nonexistent."""
    if directive is not None and directive.owner_id != owner_id:
        raise ApplicationError(
            "The directive does not exist.",
            code="VALIDATION_ERROR",
            details={"directive": ["The directive does not exist."]},
        )


@transaction.atomic
def task_create(
    *,
    owner: User,
    name: str,
    directive: Directive | None = None,
    status: str = Task.Status.PENDING,
) -> tuple[Task, str]:
    """Create a task with a fresh tool key; the raw key is returned here once."""
    _check_directive_owner(directive, owner.pk)
    issued = hashing.issue_secret(hashing.TOOL_KEY_KIND)
    task = Task.objects.create(
        owner=owner,
        name=name,
        directive=directive,
        status=status,
        tool_key_prefix=issued.prefix,
        tool_key_hash=issued.digest,
    )
    return task, issued.raw


_TASK_EDITABLE_FIELDS = {"name", "status", "directive"}


@transaction.atomic
def task_update(*, task: Task, **fields: Any) -> Task:
    """Change name, status or directive; the directive must be the task owner's."""
    unknown = set(fields) - _TASK_EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"task_update() cannot change {sorted(unknown)}")
    directive = fields.get("directive")
    _check_directive_owner(directive, task.owner_id)
    ended = fields.get("status") in TERMINAL_STATUSES and (
        # The stored status: the admin's form has already set the new one on `task`.
        Task.objects.filter(pk=task.pk).values_list("status", flat=True).first()
        not in TERMINAL_STATUSES
    )
    for name, value in fields.items():
        setattr(task, name, value)
    task.save(update_fields=[*fields, "updated_at"])
    if ended:
        question_cancel_for_task(task=task, reason=REASON_TASK_FINISHED)
    return task


@transaction.atomic
def task_rotate_tool_key(*, task: Task) -> str:
    """Replace the task's tool key; the old key stops working at once."""
    issued = hashing.issue_secret(hashing.TOOL_KEY_KIND)
    Task.objects.filter(pk=task.pk).update(
        tool_key_prefix=issued.prefix, tool_key_hash=issued.digest, updated_at=timezone.now()
    )
    task.tool_key_prefix = issued.prefix
    task.tool_key_hash = issued.digest
    return issued.raw


@transaction.atomic
def task_delete(*, task: Task) -> None:
    """Delete a task; its key is remembered so a client using it hears "task gone" (404).

    Its pending questions are cancelled first, so their waiters return `cancelled` (the
    rows then go with the task)."""
    question_cancel_for_task(task=task, reason=REASON_TASK_DELETED)
    RetiredToolKey.objects.get_or_create(key_hash=task.tool_key_hash, defaults={"task_id": task.pk})
    task.delete()
