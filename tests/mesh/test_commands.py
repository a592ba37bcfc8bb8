"""Management commands: create_api_token and demo_setup (what `make run` calls)."""

import io
import json
import shlex
import stat

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework import status
from rest_framework.test import APIClient

from directives.models import Directive
from mesh.credentials import services as credential_services
from mesh.credentials.authentication import owner_from_token, task_from_tool_key
from mesh.models import ApiToken, Task
from mesh.tasks import services as task_services

User = get_user_model()


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# --- create_api_token -----------------------------------------------------------------------
def test_create_api_token_prints_raw_token_last(owner):
    """The last line of the output is a raw token that authenticates as the owner."""
    out, _ = run("create_api_token", owner.username, "--name", "ci")
    raw = out.strip().splitlines()[-1]
    authenticated, token = owner_from_token(raw)
    assert authenticated == owner and token.name == "ci"
    response = APIClient().get("/api/v1/tasks/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == status.HTTP_200_OK


def test_create_api_token_unknown_user_is_an_error(db):
    """An unknown owner without --create-user is a CommandError; nothing is created."""
    with pytest.raises(CommandError, match="--create-user"):
        run("create_api_token", "nobody")
    assert not User.objects.filter(username="nobody").exists()
    assert ApiToken.objects.count() == 0


def test_create_api_token_creates_a_plain_owner(db):
    """--create-user creates a non-staff owner without a usable password, then the token."""
    out, _ = run("create_api_token", "bot", "--create-user")
    bot = User.objects.get(username="bot")
    assert not bot.is_staff and not bot.is_superuser and not bot.has_usable_password()
    assert owner_from_token(out.strip().splitlines()[-1])[0] == bot


def test_create_api_token_create_user_reuses_existing(owner):
    """--create-user for an existing owner creates no second user and keeps their flags."""
    owner.is_staff = True
    owner.save()
    run("create_api_token", owner.username, "--create-user")
    assert User.objects.filter(username=owner.username).count() == 1
    owner.refresh_from_db()
    assert owner.is_staff


def test_create_api_token_rejects_bad_input(owner):
    """An invalid username or an overlong name is a CommandError."""
    with pytest.raises(CommandError, match="Invalid username"):
        run("create_api_token", "bad name!", "--create-user")
    with pytest.raises(CommandError, match="--name"):
        run("create_api_token", owner.username, "--name", "n" * 101)


def test_create_api_token_refuses_inactive_owner(owner):
    """A token for an inactive owner would not work: refuse to make one."""
    owner.is_active = False
    owner.save()
    with pytest.raises(CommandError, match="inactive"):
        run("create_api_token", owner.username)


# --- demo_setup -----------------------------------------------------------------------------
@pytest.fixture
def demo_file(tmp_path, settings):
    settings.DEBUG = True  # the demo is only set up in development
    return tmp_path / ".demo" / "credentials.json"


def demo(demo_file, base="http://127.0.0.1:8000") -> str:
    out, _ = run("demo_setup", "--base-url", base, "--credentials-file", str(demo_file))
    return out


def counts() -> tuple[int, int, int, int]:
    return (
        User.objects.count(),
        Directive.objects.count(),
        Task.objects.count(),
        ApiToken.objects.filter(revoked_at=None).count(),
    )


def assert_credentials_work(out: str, demo_file) -> dict[str, str]:
    """Every secret printed authenticates, and the file holds the same ones."""
    stored = json.loads(demo_file.read_text())
    assert stored["apiToken"] in out and stored["toolKey"] in out
    assert f"password {stored['password']}\n" in out
    demo_user = User.objects.get(username="demo")
    assert demo_user.is_staff and demo_user.is_superuser
    assert demo_user.check_password(stored["password"])
    assert owner_from_token(stored["apiToken"])[0] == demo_user
    assert task_from_tool_key(stored["toolKey"]).name == "demo-task"
    return stored


def test_demo_first_run_creates_and_prints_everything(db, demo_file):
    """A first run creates one owner, directive, task and token, and prints the page and its
    login first, then the ask, list and answer commands with their makima equivalents."""
    out = demo(demo_file, base="http://127.0.0.1:8123")
    assert counts() == (1, 1, 1, 1)
    stored = assert_credentials_work(out, demo_file)
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines[0] == "== Makima mesh demo: open http://127.0.0.1:8123/questions/"
    assert lines[1].split() == ["login", "demo", "password", stored["password"]]
    curls = [line for line in lines if line.startswith("curl ")]
    assert len(curls) == 3
    ask, listing, answer = curls
    assert ask.startswith("curl -X POST http://127.0.0.1:8123/api/v1/mesh/supervisor/questions")
    assert f"'X-Makima-Tool-Key: {stored['toolKey']}'" in ask
    body = json.loads(shlex.split(ask)[-1])
    assert "nonBlocking" not in body and body["question"] and body["choices"]
    assert f"Bearer {stored['apiToken']}" in listing and "/api/v1/questions/" in listing
    assert f"Bearer {stored['apiToken']}" in answer and "/answer/" in answer
    assert "blocks until you answer" in out and "stillPending: true" in out
    makima = [line.strip() for line in lines if line.strip().startswith("or: makima ")]
    assert makima == [
        "or: makima directive ask 'Ship the demo?' --choice yes --choice 'not yet'",
        "or: makima questions list",
        "or: makima questions answer QUESTION_ID yes   (the id from the list)",
    ]
    assert f"MAKIMA_TOKEN={stored['apiToken']}" in out
    assert f"MAKIMA_TOOL_KEY={stored['toolKey']}" in out
    assert "MAKIMA_URL=http://127.0.0.1:8123" in out
    assert "http://127.0.0.1:8123/admin/" in out
    task = Task.objects.get()
    assert task.directive.owner.username == "demo"


def test_demo_is_idempotent(db, demo_file):
    """A second run creates nothing and prints the same, still-working credentials."""
    first = demo(demo_file)
    stored_first = json.loads(demo_file.read_text())
    before = counts()
    tokens_before = ApiToken.objects.count()
    second = demo(demo_file)
    assert counts() == before == (1, 1, 1, 1)
    assert ApiToken.objects.count() == tokens_before
    assert assert_credentials_work(second, demo_file) == stored_first
    assert "nothing new" in second and "nothing new" not in first


def test_demo_credentials_file_is_private(db, demo_file):
    """The secrets file is readable by its owner only."""
    demo(demo_file)
    assert stat.S_IMODE(demo_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(demo_file.parent.stat().st_mode) == 0o700


def test_demo_without_its_file_rotates_instead_of_duplicating(db, demo_file):
    """Lost secrets are replaced: no second owner/directive/task, one active demo token, and
    the old token and tool key stop working."""
    demo(demo_file)
    old = json.loads(demo_file.read_text())
    demo_file.unlink()
    out = demo(demo_file)
    assert counts() == (1, 1, 1, 1)
    new = assert_credentials_work(out, demo_file)
    assert new["apiToken"] != old["apiToken"] and new["toolKey"] != old["toolKey"]
    assert APIClient().get(
        "/api/v1/tasks/", HTTP_AUTHORIZATION=f"Bearer {old['apiToken']}"
    ).status_code == status.HTTP_401_UNAUTHORIZED  # fmt: skip


def test_demo_repairs_secrets_that_stopped_working(db, demo_file):
    """A revoked token, a rotated key and a changed password are replaced on the next run."""
    demo(demo_file)
    demo_user = User.objects.get(username="demo")
    for token in ApiToken.objects.filter(owner=demo_user):
        credential_services.api_token_revoke(token=token)
    task_services.task_rotate_tool_key(task=Task.objects.get())
    demo_user.set_password("changed-elsewhere")
    demo_user.save()
    out = demo(demo_file)
    assert counts() == (1, 1, 1, 1)
    assert_credentials_work(out, demo_file)


def test_demo_is_skipped_with_debug_off(db, demo_file, settings):
    """With DEBUG off no demo superuser is created."""
    settings.DEBUG = False
    out = demo(demo_file)
    assert "DEBUG is off" in out
    assert counts() == (0, 0, 0, 0)
    assert not demo_file.exists()
