"""Writes of the mesh app. Each runs in a transaction; events go out only after commit."""

import uuid
from functools import partial
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from directives.models import Directive
from makima_site.errors import ApplicationError, Conflict, Forbidden, NotFound
from mesh import credentials, events
from mesh.models import ApiToken, Question, RetiredToolKey, Task

MAX_ANSWER_LENGTH = 10000


# --- Owners ---------------------------------------------------------------------------------
@transaction.atomic
def owner_create(
    *, username: str, password: str | None = None, is_superuser: bool = False
) -> AbstractBaseUser:
    """Create an owner (a Django user). Without a password it cannot log in to the browser
    or admin, only use API tokens; a superuser is also staff, so the admin opens for it."""
    User = get_user_model()
    if is_superuser:
        return User.objects.create_superuser(username=username, email="", password=password)
    return User.objects.create_user(username=username, password=password)


@transaction.atomic
def owner_reset_for_demo(*, owner: AbstractBaseUser, password: str) -> AbstractBaseUser:
    """The local demo's login must work: an active superuser with this password."""
    owner.set_password(password)
    owner.is_active = owner.is_staff = owner.is_superuser = True
    owner.save(update_fields=["password", "is_active", "is_staff", "is_superuser"])
    return owner


# --- API tokens -----------------------------------------------------------------------------
@transaction.atomic
def api_token_create(*, owner: AbstractBaseUser, name: str = "") -> tuple[ApiToken, str]:
    """Create a token; the raw value is returned here once and never stored."""
    issued = credentials.issue_secret(credentials.API_TOKEN_KIND)
    token = ApiToken.objects.create(
        owner=owner, name=name, prefix=issued.prefix, token_hash=issued.digest
    )
    return token, issued.raw


@transaction.atomic
def api_token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        transaction.on_commit(
            partial(events.publish_credential_revoked, events.token_group(token.pk))
        )
    return token


def owner_session_ended(*, session_key: str | None) -> None:
    """A browser session logged out: its feed sockets close (after any open transaction)."""
    if session_key:
        transaction.on_commit(
            partial(events.publish_credential_revoked, events.session_group(session_key))
        )


# --- Tasks ----------------------------------------------------------------------------------
@transaction.atomic
def task_create(
    *,
    owner: AbstractBaseUser,
    name: str,
    directive: Directive | None = None,
    status: str = Task.Status.PENDING,
) -> tuple[Task, str]:
    """Create a task with a fresh tool key; the raw key is returned here once."""
    if directive is not None and directive.owner_id != owner.pk:
        raise ApplicationError(
            "The directive does not exist.",
            code="VALIDATION_ERROR",
            details={"directive": ["The directive does not exist."]},
        )
    issued = credentials.issue_secret(credentials.TOOL_KEY_KIND)
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
    if directive is not None and directive.owner_id != task.owner_id:
        raise ApplicationError(
            "The directive does not exist.",
            code="VALIDATION_ERROR",
            details={"directive": ["The directive does not exist."]},
        )
    for name, value in fields.items():
        setattr(task, name, value)
    task.save(update_fields=[*fields, "updated_at"])
    return task


@transaction.atomic
def task_rotate_tool_key(*, task: Task) -> str:
    """Replace the task's tool key; the old key stops working at once."""
    issued = credentials.issue_secret(credentials.TOOL_KEY_KIND)
    Task.objects.filter(pk=task.pk).update(
        tool_key_prefix=issued.prefix, tool_key_hash=issued.digest, updated_at=timezone.now()
    )
    task.tool_key_prefix = issued.prefix
    task.tool_key_hash = issued.digest
    return issued.raw


@transaction.atomic
def task_delete(*, task: Task) -> None:
    """Delete a task; its key is remembered so a client using it hears "task gone" (404)."""
    RetiredToolKey.objects.get_or_create(key_hash=task.tool_key_hash, defaults={"task_id": task.pk})
    task.delete()


# --- Questions ------------------------------------------------------------------------------
@transaction.atomic
def question_ask(
    *,
    task: Task,
    question: str,
    choices: list[str] | None = None,
    context: str | None = None,
    timeout_seconds: int = 3600,
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


def _question_for_answer(question_id: uuid.UUID | str, owner: AbstractBaseUser) -> Question:
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
def question_answer(
    *, question_id: uuid.UUID | str, owner: AbstractBaseUser, response: str
) -> Question:
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
    if len(response) > MAX_ANSWER_LENGTH:
        raise ApplicationError(
            f"response must be at most {MAX_ANSWER_LENGTH} characters.",
            code="VALIDATION_ERROR",
            details={
                "response": [f"Ensure this field has no more than {MAX_ANSWER_LENGTH} characters."]
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
