"""The local demo that `make run` sets up: one owner, one directive, one task, and working
credentials for each.

Idempotent: a second run creates no second owner, directive, task or token. The raw secrets
(the owner's password, an API token, the task's tool key) exist only at creation, so they
are kept in a git-ignored file (`.demo/credentials.json`, mode 0600) for the next run to
print again. A stored secret that no longer authenticates (the file was lost, the token
revoked, the key rotated, the password changed) is replaced: the password reset, the token
revoked and re-issued, the tool key rotated.
"""

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction

from directives import services as directive_services
from directives.models import Directive
from mesh.credentials import hashing
from mesh.credentials import services as credential_services
from mesh.models import ApiToken, Task
from mesh.owners import services as owner_services
from mesh.tasks import services as task_services

DEMO_USERNAME = "demo"
DEMO_DIRECTIVE_TITLE = "Demo directive"
DEMO_TASK_NAME = "demo-task"
DEMO_TOKEN_NAME = "demo"  # noqa: S105  (a label, not a secret)


@dataclass
class DemoSetup:
    username: str
    password: str
    api_token: str
    tool_key: str
    directive: Directive
    task: Task
    changes: list[str] = field(default_factory=list)


def _load(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {key: value for key, value in data.items() if isinstance(value, str)}


def _save(path: Path, data: dict[str, str]) -> None:
    """Write the secrets readable by this user only (directory 0700, file 0600)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def _demo_owner(stored: dict[str, str], changes: list[str]):
    User = get_user_model()
    owner = User.objects.filter(username=DEMO_USERNAME).first()
    if owner is None:
        password = secrets.token_urlsafe(12)
        owner = owner_services.owner_create(
            username=DEMO_USERNAME, password=password, is_superuser=True
        )
        changes.append(f"created the owner {DEMO_USERNAME!r} (superuser)")
        return owner, password
    password = stored.get("password", "")
    usable = owner.is_active and owner.is_staff and owner.is_superuser
    if not usable or not password or not owner.check_password(password):
        password = secrets.token_urlsafe(12)
        owner_services.owner_reset_for_demo(owner=owner, password=password)
        changes.append(f"reset the password of {DEMO_USERNAME!r} (the stored one did not work)")
    return owner, password


def _demo_directive(owner, changes: list[str]) -> Directive:
    directive = (
        Directive.objects.filter(owner=owner, title=DEMO_DIRECTIVE_TITLE)
        .order_by("created_at")
        .first()
    )
    if directive is None:
        # semi-auto: a blocking ask waits for the owner's answer instead of being withdrawn
        # after the auto timeout.
        directive = directive_services.directive_create(
            owner=owner,
            title=DEMO_DIRECTIVE_TITLE,
            goal="Try Makima mesh: the demo task asks, you answer.",
            reconcile_mode=Directive.ReconcileMode.SEMI_AUTO,
        )
        changes.append(f"created the directive {DEMO_DIRECTIVE_TITLE!r}")
    return directive


def _demo_task(owner, directive: Directive, stored: dict[str, str], changes: list[str]):
    task = Task.objects.filter(owner=owner, name=DEMO_TASK_NAME).order_by("created_at").first()
    if task is None:
        task, tool_key = task_services.task_create(
            owner=owner, name=DEMO_TASK_NAME, directive=directive
        )
        changes.append(f"created the task {DEMO_TASK_NAME!r}")
        return task, tool_key
    if task.directive_id != directive.pk:
        task = task_services.task_update(task=task, directive=directive)
        changes.append(f"attached the task {DEMO_TASK_NAME!r} to the demo directive")
    tool_key = stored.get("toolKey", "")
    if not tool_key or not hashing.matches(tool_key, task.tool_key_hash):
        tool_key = task_services.task_rotate_tool_key(task=task)
        changes.append("rotated the demo task's tool key (the stored one did not work)")
    return task, tool_key


def _demo_token(owner, stored: dict[str, str], changes: list[str]) -> str:
    active = list(ApiToken.objects.filter(owner=owner, name=DEMO_TOKEN_NAME, revoked_at=None))
    raw = stored.get("apiToken", "")
    if raw and any(hashing.matches(raw, token.token_hash) for token in active):
        return raw
    # The raw values of these tokens are lost: retire them rather than pile up unknown ones.
    for token in active:
        credential_services.api_token_revoke(token=token)
    _, raw = credential_services.api_token_create(owner=owner, name=DEMO_TOKEN_NAME)
    changes.append("issued a new demo API token" + (" (revoked the old one)" if active else ""))
    return raw


def demo_setup(*, credentials_path: Path) -> DemoSetup:
    """Ensure the demo owner, directive, task and their credentials; see the module doc."""
    stored = _load(credentials_path)
    changes: list[str] = []
    with transaction.atomic():
        owner, password = _demo_owner(stored, changes)
        directive = _demo_directive(owner, changes)
        task, tool_key = _demo_task(owner, directive, stored, changes)
        api_token = _demo_token(owner, stored, changes)
        fresh = {"password": password, "apiToken": api_token, "toolKey": tool_key}
        if fresh != {key: stored.get(key) for key in fresh}:
            _save(credentials_path, fresh)
    return DemoSetup(
        username=DEMO_USERNAME,
        password=password,
        api_token=api_token,
        tool_key=tool_key,
        directive=directive,
        task=task,
        changes=changes,
    )
