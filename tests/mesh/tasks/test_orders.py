"""POST /api/v1/mesh/supervisor/orders: the reference's contract, its errors, idempotency."""

import threading
import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection, connections
from django.utils import timezone
from rest_framework import status
from rest_framework.test import APIClient

from mesh.tasks import services as task_services
from orders import services as order_services
from orders.models import Order, OrderIdempotencyKey
from tests import factories

URL = "/api/v1/mesh/supervisor/orders"
RESPONSE_KEYS = {
    "id",
    "title",
    "description",
    "priority",
    "status",
    "orderType",
    "directiveId",
    "labels",
    "repositoryUrl",
    "createdAt",
}


@pytest.fixture
def task(task_and_key):
    return task_and_key[0]


@pytest.fixture
def tool(client_for, task_and_key):
    return client_for(tool_key=task_and_key[1])


def post(client, body, **headers):
    return client.post(URL, body, format="json", **headers)


# --- the contract -----------------------------------------------------------------------------
def test_minimal_body_files_a_spike_with_the_reference_keys(tool, task, directive):
    """A title alone files an open, medium spike on the task's directive: 201, exact keys."""
    response = post(tool, {"title": "Investigate flaky test"})
    assert response.status_code == status.HTTP_201_CREATED
    body = response.json()
    assert set(body) == RESPONSE_KEYS
    assert body["title"] == "Investigate flaky test"
    assert body["description"] is None
    assert body["priority"] == "medium"
    assert body["status"] == "open"
    assert body["orderType"] == "spike"
    assert body["directiveId"] == str(directive.id)
    assert body["labels"] == []
    assert body["repositoryUrl"] is None
    order = Order.objects.get(pk=body["id"])
    assert order.owner == task.owner
    assert order.filed_by_task == task
    assert body["createdAt"].startswith(str(order.created_at.date()))


def test_full_body_is_stored_and_echoed(tool):
    """Every field of the body is stored and comes back camelCased."""
    response = post(
        tool,
        {
            "title": "Bump dependencies",
            "description": "Monthly chore.",
            "priority": "critical",
            "orderType": "chore",
            "labels": ["deps", "ci"],
            "repositoryUrl": "https://example.com/repo.git",
        },
    )
    assert response.status_code == status.HTTP_201_CREATED
    body = response.json()
    assert body["description"] == "Monthly chore."
    assert body["priority"] == "critical"
    assert body["orderType"] == "chore"
    assert body["labels"] == ["deps", "ci"]
    assert body["repositoryUrl"] == "https://example.com/repo.git"
    order = Order.objects.get(pk=body["id"])
    assert (order.order_type, order.labels) == ("chore", ["deps", "ci"])


def test_repository_url_defaults_to_the_directives(client_for, owner):
    """Without repositoryUrl the order takes its directive's repository URL."""
    directive = factories.make_directive(owner, repository_url="https://example.com/d.git")
    _, key = factories.make_task(owner, directive)
    response = post(client_for(tool_key=key), {"title": "t"})
    assert response.status_code == status.HTTP_201_CREATED
    assert response.json()["repositoryUrl"] == "https://example.com/d.git"


def test_explicit_repository_url_wins_over_the_directives(client_for, owner):
    """A given repositoryUrl is kept even when the directive has one."""
    directive = factories.make_directive(owner, repository_url="https://example.com/d.git")
    _, key = factories.make_task(owner, directive)
    response = post(client_for(tool_key=key), {"title": "t", "repositoryUrl": "https://x.org/r"})
    assert response.json()["repositoryUrl"] == "https://x.org/r"


@pytest.mark.parametrize("order_type", ["feature", "bug", "epic", "SPIKE"])
def test_other_order_types_are_invalid_order_type(tool, order_type):
    """Only spike and chore are accepted: else 400 INVALID_ORDER_TYPE, nothing stored."""
    response = post(tool, {"title": "t", "orderType": order_type})
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    body = response.json()
    assert body["code"] == "INVALID_ORDER_TYPE"
    assert body["message"] == "Only spike and chore order types are allowed from directive tasks"
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": None}, "title"),
        ({"title": "t", "description": "x" * 20001}, "description"),
        ({"title": "t", "priority": "urgent"}, "priority"),
        ({"title": "t", "labels": "ci"}, "labels"),
        ({"title": "t", "labels": None}, "labels"),
        ({"title": "t", "labels": [""]}, "labels"),
        ({"title": "t", "labels": ["x" * 51]}, "labels"),
        ({"title": "t", "labels": ["a", "a"]}, "labels"),
        ({"title": "t", "labels": [f"l{i}" for i in range(21)]}, "labels"),
        ({"title": "t", "labels": [1, {"a": 1}]}, "labels"),
        ({"title": "t", "labels": ["line\nbreak"]}, "labels"),
        ({"title": "t", "repositoryUrl": "not a url"}, "repositoryUrl"),
        ({"title": "t", "repositoryUrl": "https://x.org/" + "a" * 500}, "repositoryUrl"),
        ({"title": "t", "orderType": None}, "orderType"),
        ({"title": "t", "orderType": ["spike"]}, "orderType"),
    ],
)
def test_bad_input_is_validation_error_with_details(tool, body, field):
    """Each broken rule is 400 VALIDATION_ERROR naming the field in details; nothing stored."""
    response = post(tool, body)
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    error = response.json()
    assert error["code"] == "VALIDATION_ERROR"
    assert any(name == field or name.startswith(f"{field}.") for name in error["details"])
    assert error["message"]
    assert not Order.objects.exists()


def test_non_object_body_is_validation_error(tool):
    """A JSON array instead of an object is 400 VALIDATION_ERROR."""
    response = post(tool, ["title"])
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "VALIDATION_ERROR"


def test_malformed_json_is_400(tool):
    """A body that is not JSON is refused with a 400 in the error shape, nothing stored."""
    response = tool.post(URL, "{nope", content_type="application/json")
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "MALFORMED_REQUEST"
    assert not Order.objects.exists()


def test_body_over_one_mebibyte_is_413(tool):
    """A body over 1 MiB is 413 PAYLOAD_TOO_LARGE."""
    response = tool.post(
        URL, '{"title": "' + "x" * (1024 * 1024) + '"}', content_type="application/json"
    )
    assert response.status_code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"


# --- authentication ----------------------------------------------------------------------------
@pytest.mark.django_db
def test_missing_tool_key_is_401():
    """No credential at all: 401 UNAUTHORIZED."""
    response = post(APIClient(), {"title": "t"})
    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json()["code"] == "UNAUTHORIZED"


@pytest.mark.django_db
def test_unknown_tool_key_is_401(client_for):
    """A well-formed but unknown tool key: 401 UNAUTHORIZED."""
    response = post(client_for(tool_key="mtk_abcdefgh_" + "x" * 43), {"title": "t"})
    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json()["code"] == "UNAUTHORIZED"


def test_owner_token_is_401(api, directive):
    """An owner API token does not authenticate a tool-key endpoint: 401, nothing stored."""
    response = post(api, {"title": "t"})
    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json()["code"] == "UNAUTHORIZED"
    assert not Order.objects.exists()


def test_rotated_tool_key_is_401(client_for, task_and_key):
    """After rotation the old key is 401."""
    task, old_key = task_and_key
    task_services.task_rotate_tool_key(task=task)
    response = post(client_for(tool_key=old_key), {"title": "t"})
    assert response.status_code == status.HTTP_401_UNAUTHORIZED


def test_deleted_task_is_404(client_for, task_and_key):
    """The key of a deleted task: 404 NOT_FOUND."""
    task, key = task_and_key
    task_services.task_delete(task=task)
    response = post(client_for(tool_key=key), {"title": "t"})
    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response.json()["code"] == "NOT_FOUND"


def test_task_without_directive_is_403(client_for, owner):
    """A task with no directive: 403 NOT_DIRECTIVE_TASK, nothing stored."""
    _, key = factories.make_task(owner, None)
    response = post(client_for(tool_key=key), {"title": "t"})
    assert response.status_code == status.HTTP_403_FORBIDDEN
    assert response.json()["code"] == "NOT_DIRECTIVE_TASK"
    assert not Order.objects.exists()


def test_auth_is_checked_before_the_body(client_for, owner):
    """A bad body from a non-directive task is still 403: who calls is decided first."""
    _, key = factories.make_task(owner, None)
    response = post(client_for(tool_key=key), {"orderType": "feature"})
    assert response.json()["code"] == "NOT_DIRECTIVE_TASK"


def test_order_belongs_to_the_tasks_owner_only(tool, other_api):
    """The filed order is its task owner's: another owner cannot see it."""
    order_id = post(tool, {"title": "t"}).json()["id"]
    assert other_api.get(f"/api/v1/orders/{order_id}/").status_code == status.HTTP_404_NOT_FOUND


# --- idempotency -------------------------------------------------------------------------------
def test_same_key_same_task_returns_the_first_order(tool):
    """A retry with the same Idempotency-Key gets 201 and the first order's id; one row."""
    first = post(tool, {"title": "once"}, HTTP_IDEMPOTENCY_KEY="retry-1")
    second = post(tool, {"title": "once"}, HTTP_IDEMPOTENCY_KEY="retry-1")
    assert first.status_code == second.status_code == status.HTTP_201_CREATED
    assert second.json() == first.json()
    assert Order.objects.count() == 1


FULL_BODY = {
    "title": "Bump dependencies",
    "description": "Monthly chore.",
    "priority": "high",
    "orderType": "chore",
    "labels": ["deps", "ci"],
    "repositoryUrl": "https://example.com/repo.git",
}
REUSED = {
    "code": "IDEMPOTENCY_KEY_REUSED",
    "message": (
        "This Idempotency-Key was already used with a different body; "
        "send a new key for a new order."
    ),
}


def stored_rows() -> tuple[list[dict], list[dict]]:
    """Every order and every key as stored, to show that a refusal changed nothing."""
    return list(Order.objects.values()), list(OrderIdempotencyKey.objects.values())


def test_same_key_and_full_body_returns_the_first_order(tool):
    """The same key with the same full body is a retry: 201, the first order, one row."""
    first = post(tool, FULL_BODY, HTTP_IDEMPOTENCY_KEY="k")
    second = post(tool, dict(reversed(list(FULL_BODY.items()))), HTTP_IDEMPOTENCY_KEY="k")
    assert first.status_code == second.status_code == status.HTTP_201_CREATED
    assert second.json() == first.json()
    assert Order.objects.count() == 1


@pytest.mark.parametrize(
    "change",
    [
        {"title": "Bump dependencies again"},
        {"labels": ["deps"]},
        {"labels": ["ci", "deps"]},
        {"orderType": "spike"},
        {"priority": "low"},
        {"description": None},
        {"repositoryUrl": "https://example.com/other.git"},
    ],
    ids=lambda change: "-".join(change),
)
def test_same_key_with_another_body_is_422(tool, change):
    """The same key with a different body is 422 IDEMPOTENCY_KEY_REUSED; nothing changes."""
    assert post(tool, FULL_BODY, HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    before = stored_rows()
    response = post(tool, {**FULL_BODY, **change}, HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == status.HTTP_422_UNPROCESSABLE_ENTITY
    assert response.json() == REUSED
    assert stored_rows() == before


def test_reused_key_is_refused_every_time_and_the_first_body_still_replays(tool):
    """A refusal does not consume the key: the first body still gets its order back."""
    first = post(tool, {"title": "first"}, HTTP_IDEMPOTENCY_KEY="k").json()
    assert post(tool, {"title": "second"}, HTTP_IDEMPOTENCY_KEY="k").status_code == 422
    assert post(tool, {"title": "second"}, HTTP_IDEMPOTENCY_KEY="k").status_code == 422
    again = post(tool, {"title": "first"}, HTTP_IDEMPOTENCY_KEY="k")
    assert again.status_code == status.HTTP_201_CREATED
    assert again.json()["id"] == first["id"]
    assert Order.objects.count() == 1


@pytest.mark.parametrize(
    ("first", "retry"),
    [
        ({"title": "t", "priority": "medium", "orderType": "spike", "labels": []}, {"title": "t"}),
        ({"title": "t"}, {"title": "t", "priority": "medium", "orderType": "spike", "labels": []}),
        ({"title": "t", "description": None, "repositoryUrl": None}, {"title": "t"}),
        ({"title": "t", "description": "", "repositoryUrl": ""}, {"title": "t"}),
    ],
)
def test_retry_spelling_a_default_differently_is_the_same_body(tool, first, retry):
    """A retry that omits a field equal to its default (or sends it) gets the first order."""
    first_id = post(tool, first, HTTP_IDEMPOTENCY_KEY="k").json()["id"]
    response = post(tool, retry, HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == status.HTTP_201_CREATED
    assert response.json()["id"] == first_id
    assert Order.objects.count() == 1


def test_another_tasks_key_with_another_body_files_its_own_order(
    tool, client_for, owner, directive
):
    """Keys are per task: another task's same key with a different body is a new order (201)."""
    _, other_key = factories.make_task(owner, directive)
    mine = post(tool, {"title": "mine"}, HTTP_IDEMPOTENCY_KEY="shared").json()
    other = client_for(tool_key=other_key)
    theirs = post(other, {"title": "theirs"}, HTTP_IDEMPOTENCY_KEY="shared")
    assert theirs.status_code == status.HTTP_201_CREATED
    assert theirs.json()["id"] != mine["id"]
    assert theirs.json()["title"] == "theirs"
    assert Order.objects.count() == 2


def test_expired_key_with_another_body_files_a_new_order(tool):
    """After 24 h the key is free again: a different body files a new order (201)."""
    first = post(tool, {"title": "first"}, HTTP_IDEMPOTENCY_KEY="k").json()
    OrderIdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=24, seconds=1))
    second = post(tool, {"title": "second"}, HTTP_IDEMPOTENCY_KEY="k")
    assert second.status_code == status.HTTP_201_CREATED
    assert second.json()["id"] != first["id"]
    assert second.json()["title"] == "second"
    assert Order.objects.count() == 2


def test_losing_a_race_to_another_body_is_422(tool):
    """When a concurrent request with another body stored the key first, the loser is 422 and
    its order is rolled back."""
    first = post(tool, {"title": "winner"}, HTTP_IDEMPOTENCY_KEY="k").json()
    before = stored_rows()
    real_lookup = order_services.order_get_by_idempotency_key
    answers = [None]  # the first lookup runs before the winner commits

    def lookup(**kwargs):
        return answers.pop() if answers else real_lookup(**kwargs)

    with mock.patch.object(order_services, "order_get_by_idempotency_key", side_effect=lookup):
        response = post(tool, {"title": "loser"}, HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == status.HTTP_422_UNPROCESSABLE_ENTITY
    assert response.json() == REUSED
    assert stored_rows() == before
    assert Order.objects.get().pk == uuid.UUID(first["id"])


def test_different_keys_file_different_orders(tool):
    """Two keys, two orders."""
    a = post(tool, {"title": "t"}, HTTP_IDEMPOTENCY_KEY="a").json()["id"]
    b = post(tool, {"title": "t"}, HTTP_IDEMPOTENCY_KEY="b").json()["id"]
    assert a != b


def test_without_a_key_every_request_files(tool):
    """No header: each request files its own order."""
    post(tool, {"title": "t"})
    post(tool, {"title": "t"})
    assert Order.objects.count() == 2


def test_same_key_from_another_task_files_its_own_order(tool, client_for, owner, directive):
    """Keys are per task: another task sending the same key gets a new order."""
    _, other_key = factories.make_task(owner, directive)
    a = post(tool, {"title": "t"}, HTTP_IDEMPOTENCY_KEY="shared").json()
    b = post(client_for(tool_key=other_key), {"title": "t"}, HTTP_IDEMPOTENCY_KEY="shared").json()
    assert a["id"] != b["id"]
    assert Order.objects.count() == 2


def test_key_is_honoured_just_inside_24_hours(tool):
    """A key used 23 h 59 min ago still returns the first order."""
    first = post(tool, {"title": "t"}, HTTP_IDEMPOTENCY_KEY="k").json()
    OrderIdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=23, minutes=59))
    again = post(tool, {"title": "t"}, HTTP_IDEMPOTENCY_KEY="k").json()
    assert again["id"] == first["id"]


def test_key_expires_after_24_hours(tool):
    """After 24 h the same key files a new order, and the key then points at the new one."""
    first = post(tool, {"title": "t"}, HTTP_IDEMPOTENCY_KEY="k").json()
    OrderIdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=24, seconds=1))
    second = post(tool, {"title": "t"}, HTTP_IDEMPOTENCY_KEY="k").json()
    third = post(tool, {"title": "t"}, HTTP_IDEMPOTENCY_KEY="k").json()
    assert second["id"] != first["id"]
    assert third["id"] == second["id"]
    assert Order.objects.count() == 2
    assert OrderIdempotencyKey.objects.get().order_id == uuid.UUID(second["id"])


@pytest.mark.parametrize("key", ["", "   ", "k" * 256, "ключ", "tab\there"])
def test_bad_idempotency_key_is_validation_error(tool, key):
    """A blank, overlong or non-ASCII Idempotency-Key is 400 VALIDATION_ERROR, nothing stored."""
    response = post(tool, {"title": "t"}, HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert "Idempotency-Key" in response.json()["details"]
    assert not Order.objects.exists()


def test_longest_idempotency_key_is_accepted(tool):
    """A 255-character key is within bounds."""
    response = post(tool, {"title": "t"}, HTTP_IDEMPOTENCY_KEY="k" * 255)
    assert response.status_code == status.HTTP_201_CREATED


def test_invalid_body_with_a_key_stores_no_key(tool):
    """A rejected request does not use up its key: the corrected retry files the order."""
    assert post(tool, {"title": ""}, HTTP_IDEMPOTENCY_KEY="k").status_code == 400
    assert not OrderIdempotencyKey.objects.exists()
    assert post(tool, {"title": "fixed"}, HTTP_IDEMPOTENCY_KEY="k").status_code == 201


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_file_one_order(owner, directive):
    """Eight simultaneous requests with one key file one order; all get its id."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL (DATABASE_URL)")
    _, key = factories.make_task(owner, directive)
    barrier = threading.Barrier(8)
    ids, errors = [], []

    def file_once():
        client = APIClient()
        client.credentials(HTTP_X_MAKIMA_TOOL_KEY=key, HTTP_IDEMPOTENCY_KEY="race")
        barrier.wait()
        try:
            response = client.post(URL, {"title": "race"}, format="json")
            ids.append((response.status_code, response.json().get("id")))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=file_once) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert {code for code, _ in ids} == {201}
    assert len({order_id for _, order_id in ids}) == 1
    assert Order.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_two_bodies_file_one_order(owner, directive):
    """Eight simultaneous requests with one key and two bodies file one order: the winner's
    body gets 201 and its id, the other body 422."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL (DATABASE_URL)")
    _, key = factories.make_task(owner, directive)
    barrier = threading.Barrier(8)
    results, errors = [], []

    def file_once(title):
        client = APIClient()
        client.credentials(HTTP_X_MAKIMA_TOOL_KEY=key, HTTP_IDEMPOTENCY_KEY="race")
        barrier.wait()
        try:
            response = client.post(URL, {"title": title}, format="json")
            results.append((title, response.status_code, response.json()))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=file_once, args=("ab"[i % 2],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    order = Order.objects.get()
    for title, code, body in results:
        if title == order.title:
            assert (code, body["id"]) == (201, str(order.id))
        else:
            assert (code, body) == (422, REUSED)
    assert len(results) == 8
