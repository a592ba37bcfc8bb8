"""Who is calling: owners (session or personal API token) or tasks (tool key).

A tool key never authenticates an owner endpoint and an owner token never authenticates a
tool-key endpoint; an unknown or revoked credential is 401, and so is any credential of an
inactive owner (its tokens and its tasks' tool keys).
"""

from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework import authentication, exceptions

from makima_site.errors import Forbidden, NotFound, Unauthorized
from makima_site.observability.context import note_owner, note_task
from mesh.credentials import hashing
from mesh.models import ApiToken, RetiredToolKey, Task

TOOL_KEY_HEADER = "X-Makima-Tool-Key"
API_KEY_HEADER = "X-Makima-Api-Key"
# The same headers as ASGI scopes (lowercase bytes) and Django's request.META name them.
TOOL_KEY_ASGI_HEADER = TOOL_KEY_HEADER.lower().encode("ascii")
_TOOL_KEY_META = "HTTP_" + TOOL_KEY_HEADER.upper().replace("-", "_")
_API_KEY_META = "HTTP_" + API_KEY_HEADER.upper().replace("-", "_")
# last_used_at is written at most this often per token, so reads don't turn into writes.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def owner_from_token(raw: str) -> tuple[User, ApiToken]:
    """The active owner behind a raw API token; Unauthorized otherwise."""
    prefix = hashing.split_prefix(raw, hashing.API_TOKEN_KIND)
    if prefix is not None:
        for token in ApiToken.objects.select_related("owner").filter(prefix=prefix):
            if hashing.matches(raw, token.token_hash):
                if token.revoked_at is not None or not token.owner.is_active:
                    break
                now = timezone.now()
                if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
                    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
                    token.last_used_at = now
                note_owner(token.owner_id)
                return token.owner, token
    raise Unauthorized("The API token is unknown or revoked; create a new one.")


def task_from_tool_key(raw: str | None) -> Task:
    """The directive task behind a raw tool key, with the reference's failure codes.

    401 UNAUTHORIZED for a missing/unknown/rotated key or a task whose owner is inactive,
    404 NOT_FOUND when the key's task was deleted, 403 NOT_DIRECTIVE_TASK when the task has
    no directive.
    """
    if not raw:
        raise Unauthorized(
            f"These endpoints require tool key auth: send the task's key in {TOOL_KEY_HEADER}."
        )
    prefix = hashing.split_prefix(raw, hashing.TOOL_KEY_KIND)
    if prefix is not None:
        tasks = Task.objects.select_related("directive", "owner").filter(tool_key_prefix=prefix)
        for task in tasks:
            if hashing.matches(raw, task.tool_key_hash):
                if not task.owner.is_active:
                    raise Unauthorized(
                        "The task's owner is inactive: its tool keys are refused until an "
                        "administrator reactivates the owner."
                    )
                if task.directive_id is None:
                    raise Forbidden(
                        "Only directive-attached tasks can use these endpoints.",
                        code="NOT_DIRECTIVE_TASK",
                    )
                note_task(task.pk, task.owner_id)
                return task
        if RetiredToolKey.objects.filter(key_hash=hashing.hash_secret(raw)).exists():
            raise NotFound("Task not found.")
    raise Unauthorized("The tool key is unknown or was rotated; use the task's current key.")


def _bearer(request) -> str | None:
    header = authentication.get_authorization_header(request).decode("latin-1")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip()


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """Owner API token: `Authorization: Bearer <token>` or `X-Makima-Api-Key: <token>`."""

    def authenticate(self, request):
        raw = _bearer(request) or request.META.get(_API_KEY_META)
        if raw:
            try:
                return owner_from_token(raw.strip())
            except Unauthorized as exc:
                raise exceptions.AuthenticationFailed(exc.message) from exc
        if request.META.get(_TOOL_KEY_META):
            raise exceptions.AuthenticationFailed(
                "A tool key cannot authenticate owner endpoints; use an owner API token."
            )
        return None

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class OwnerSessionAuthentication(authentication.SessionAuthentication):
    """The browser's session (CSRF enforced on unsafe methods), for owners only."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            note_owner(result[0].pk)
        return result


class ToolKeyUser:
    """request.user of a tool-key request: the task, never an owner."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False

    def __init__(self, task: Task):
        self.task = task
        self.pk = None

    def __str__(self) -> str:
        return f"task:{self.task.pk}"


class ToolKeyAuthentication(authentication.BaseAuthentication):
    """For DRF tool-key endpoints: request.auth is the calling Task."""

    def authenticate(self, request):
        task = task_from_tool_key(request.META.get(_TOOL_KEY_META))
        return ToolKeyUser(task), task

    def authenticate_header(self, request):
        return TOOL_KEY_HEADER
