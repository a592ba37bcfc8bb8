"""Raw API tokens and tool keys never rest anywhere: not in the database, not in the logs
(SQL included), not on admin pages. One full flow creates, uses, rotates and revokes them;
then every table, every log line and every admin page is searched for them."""

import logging

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.contrib import admin
from django.db import connection
from django.urls import NoReverseMatch, reverse
from rest_framework.test import APIClient

from mesh.wakeups.hub import close_hub
from tests import factories
from tests.mesh.conftest import ask, poll


def secret_fragments(raw: str) -> list[str]:
    """The raw credential and its secret part (the prefix is stored on purpose)."""
    kind, prefix, secret = raw.split("_", 2)
    assert len(secret) >= 40, "the secret part must be long enough to search for"
    return [raw, secret]


@pytest.fixture
def sql_logged(settings):
    """Log every SQL statement with its parameters, in every thread (the consumers' too)."""
    settings.DEBUG = True


@pytest.fixture
def all_logs_at_debug(caplog):
    """Capture every logger at DEBUG (django, django.request, django.db.backends, ours)."""
    names = ["", *logging.root.manager.loggerDict]
    for name in names:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


@pytest.fixture
def full_flow(transactional_db, client_for, sql_logged, all_logs_at_debug):
    """Tokens and tool keys created, used, rotated, misused and revoked, through the API.

    Returns every raw secret the flow saw.
    """
    owner = factories.make_owner("flow-owner")
    secrets: list[str] = []

    first_token = factories.make_token(owner, name="service")
    secrets.append(first_token)
    api = client_for(token=first_token)

    created = api.post("/api/v1/tokens/", {"name": "api"}, format="json")
    assert created.status_code == 201
    second_token = created.json()["token"]
    secrets.append(second_token)

    directive = api.post(
        "/api/v1/directives/", {"title": "Ship", "reconcileMode": "manual"}, format="json"
    ).json()
    task = api.post(
        "/api/v1/tasks/", {"name": "worker", "directive": directive["id"]}, format="json"
    ).json()
    secrets.append(task["toolKey"])
    rotated = api.post(f"/api/v1/tasks/{task['id']}/rotate-key/")
    assert rotated.status_code == 200
    current_key = rotated.json()["toolKey"]
    secrets.append(current_key)

    # Misuse: the rotated key, a tool key on an owner endpoint, the token in the wrong header.
    assert client_for(tool_key=task["toolKey"]).get("/api/v1/tasks/").status_code == 401
    assert client_for(tool_key=current_key).get("/api/v1/tokens/").status_code == 401
    wrong = APIClient()
    wrong.credentials(HTTP_X_MAKIMA_TOOL_KEY=second_token)
    assert wrong.get("/api/v1/tasks/").status_code == 401
    header_api = APIClient()
    header_api.credentials(HTTP_X_MAKIMA_API_KEY=second_token)
    assert header_api.get("/api/v1/tasks/").status_code == 200

    # The task asks (the Channels consumer), the owner answers (REST), the task polls.
    async def ask_answer_poll() -> None:
        try:
            asked = await ask(current_key, {"question": "Deploy?", "nonBlocking": True})
            assert asked.status == 200
            question_id = asked.json()["questionId"]
            assert (await ask(task["toolKey"], {"question": "Old key?"})).status == 401
            answered = await sync_to_async(api.post)(
                f"/api/v1/mesh/questions/{question_id}/answer", {"response": "yes"}, format="json"
            )
            assert answered.status_code == 200
            polled = await poll(current_key, question_id)
            assert polled.json()["response"] == "yes"
        finally:
            await close_hub()

    async_to_sync(ask_answer_poll)()

    # The task files an order, then the owner reads it.
    tool = client_for(tool_key=current_key)
    filed = tool.post("/api/v1/mesh/supervisor/orders", {"title": "Follow up"}, format="json")
    assert filed.status_code == 201
    assert api.get(f"/api/v1/orders/{filed.json()['id']}/").status_code == 200

    # Revocation, then use of the revoked token.
    token_id = created.json()["id"]
    assert api.delete(f"/api/v1/tokens/{token_id}/").status_code == 204
    assert client_for(token=second_token).get("/api/v1/tasks/").status_code == 401
    return secrets


def test_no_raw_secret_is_stored_in_any_table(full_flow):
    """Every row of every table, as text, holds no raw token, tool key or secret part."""
    dump = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            dump.extend(repr(row) for row in cursor.fetchall())
    text = "\n".join(dump)
    assert "Deploy?" in text, "the dump must include the flow's rows"
    for secret in full_flow:
        for fragment in secret_fragments(secret):
            assert fragment not in text


def test_no_raw_secret_is_logged(full_flow, all_logs_at_debug):
    """Log records at DEBUG, SQL with its parameters included, never carry a secret."""
    # The flow ran while the fixture was set up: its records belong to that phase.
    records = all_logs_at_debug.get_records("setup")
    assert any(r.name == "django.db.backends" for r in records)
    # The consumer's SQL, from its worker threads, is among them.
    assert any('INSERT INTO "mesh_question"' in r.getMessage() for r in records)
    assert any(r.name == "django.request" for r in records)
    text = "\n".join(f"{record.getMessage()} {record.args!r}" for record in records)
    for secret in full_flow:
        for fragment in secret_fragments(secret):
            assert fragment not in text


def admin_pages(model_admin, objects) -> list[str]:
    meta = model_admin.model._meta
    pages = []
    for view in ("changelist", "add"):
        try:
            pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}"))
        except NoReverseMatch:
            continue
    for obj in objects:
        try:
            pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk]))
        except NoReverseMatch:
            continue
    return pages


def test_no_raw_secret_is_shown_on_admin_pages(full_flow, client):
    """Every registered model's list, add and change pages show no secret."""
    staff = factories.make_owner("admin", is_staff=True)
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    visited = 0
    for model, model_admin in admin.site._registry.items():
        for url in admin_pages(model_admin, model.objects.all()[:5]):
            response = client.get(url)
            if url.endswith("/add/") and not model_admin.has_add_permission(response.wsgi_request):
                assert response.status_code == 403, url  # nothing is added here (questions)
                continue
            assert response.status_code == 200, url
            visited += 1
            page = response.content.decode()
            for secret in full_flow:
                for fragment in secret_fragments(secret):
                    assert fragment not in page, url
    assert visited > 0
