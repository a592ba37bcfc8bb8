"""Hostile input through a real daphne, on every endpoint that takes JSON
(tests/makima_site/json_endpoints.py): any nesting depth, a NUL character or a lone
surrogate in any text field is 400 VALIDATION_ERROR, nothing is stored, and the server logs
no traceback; the feed's answer and decline frames refuse the same text with VALIDATION_ERROR
frames. Runs on SQLite and on PostgreSQL (where a NUL cannot be stored at all)."""

import json
import re
from typing import Any

import httpx
import pytest
from drf_spectacular.generators import SchemaGenerator
from websockets.sync.client import connect

from directives.models import Directive
from makima_site.parsers import MAX_JSON_DEPTH
from mesh.models import ApiToken, Question, Task
from notify import services as notify_services
from notify.models import NotificationChannel, Webhook
from orders.models import Order
from tests import factories
from tests.live_daphne import off_thread
from tests.makima_site.json_endpoints import ENDPOINTS, QUERY_TEXT, Endpoint

pytestmark = pytest.mark.django_db(transaction=True)

BAD_TEXT = {"nul": "a\u0000b", "surrogate": "a\ud800b"}
FEED = "/ws/v1/mesh/questions/"


@pytest.fixture
def server(module_daphne):
    return module_daphne("input-validation")


@pytest.fixture
def world(owner, owner_token, directive, task_and_key):
    task, tool_key = task_and_key
    question = factories.make_question(task)
    order = factories.make_order(owner, directive)
    webhook, _secret = notify_services.webhook_create(owner=owner, url="https://example.com/h")
    channel = notify_services.channel_create(owner=owner, kind="email", target="o@example.com")
    ids = {
        "directive": directive.id,
        "task": task.id,
        "question": question.id,
        "order": order.id,
        "webhook": webhook.id,
        "channel": channel.id,
    }
    return {"token": owner_token, "tool_key": tool_key, "ids": {k: str(v) for k, v in ids.items()}}


def stored() -> dict[str, list[tuple]]:
    """Every row the endpoints could write (a token's lastUsedAt aside)."""
    models: dict[str, Any] = {
        "directives": Directive,
        "tasks": Task,
        "orders": Order,
        "questions": Question,
        "webhooks": Webhook,
        "channels": NotificationChannel,
    }
    rows = {name: sorted(map(repr, model.objects.values_list())) for name, model in models.items()}
    rows["tokens"] = sorted(map(repr, ApiToken.objects.values_list("id", "name", "revoked_at")))
    return rows


def fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids) if value.startswith("{") else value
    if isinstance(value, list):
        return [fill(item, ids) for item in value]
    return value


def call(server, world, endpoint: Endpoint, content: bytes) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if endpoint.credential == "owner":
        headers["Authorization"] = f"Bearer {world['token']}"
    else:
        headers["X-Makima-Tool-Key"] = world["tool_key"]
    return httpx.request(
        endpoint.method,
        server.base_url + endpoint.path.format(**world["ids"]),
        content=content,
        headers=headers,
        timeout=10,
    )


def assert_validation_error(response: httpx.Response, what: str) -> None:
    assert response.status_code == 400, (what, response.status_code, response.text[:300])
    assert response.json()["code"] == "VALIDATION_ERROR", (what, response.text[:300])


def deep(kind: str, depth: int) -> str:
    if kind == "lists":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


def test_the_table_covers_every_operation_with_a_body():
    """Every operation whose schema takes a body is in json_endpoints.ENDPOINTS (so a new
    endpoint gets these tests too)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)

    def shape(path: str) -> str:
        return re.sub(r"\{[^}]+\}", "{}", path)

    with_body = {
        (method.upper(), shape(path))
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    }
    assert with_body <= {(e.method, shape(e.path)) for e in ENDPOINTS}


# --- nesting -----------------------------------------------------------------------------
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_any_nesting_is_400_validation_error(server, world, endpoint):
    """Lists and objects nested 3, just over the limit, 1,000 and 100,000 levels, as the
    whole body and inside a field: 400 VALIDATION_ERROR each (a 500 on main from about
    500 levels), nothing stored, no traceback in the server's log."""
    before = stored()
    log_start = server.log_path.stat().st_size
    body = {key: fill(value, world["ids"]) for key, value in endpoint.body.items()}
    first_field = endpoint.text_fields[0]
    for kind in ("lists", "objects"):
        for depth in (3, MAX_JSON_DEPTH + 1, 1000, 100_000):
            nested = deep(kind, depth)
            inside = json.dumps({**body, first_field: "X"}).replace('"X"', nested)
            for name, content in (("whole", nested), ("field", inside)):
                if name == "whole" and depth == 3 and kind == "objects":
                    continue  # {"a": {"a": {"a": 1}}} is an object with an unknown key
                response = call(server, world, endpoint, content.encode())
                assert_validation_error(response, f"{kind} {depth} {name}")
    assert stored() == before
    assert "Traceback" not in server.log_path.read_text()[log_start:]


# --- NUL and lone surrogates -------------------------------------------------------------
TEXT_CASES = [
    pytest.param(endpoint, field, id=f"{endpoint.id} {field}")
    for endpoint in ENDPOINTS
    for field in endpoint.text_fields
]


@pytest.mark.parametrize(("endpoint", "field"), TEXT_CASES)
def test_nul_and_lone_surrogate_in_a_text_field_are_400(server, world, endpoint, field):
    """A NUL and a lone surrogate in the field (for a list, in its item): 400
    VALIDATION_ERROR naming the field, nothing stored."""
    before = stored()
    for name, bad in BAD_TEXT.items():
        body = {key: fill(value, world["ids"]) for key, value in endpoint.body.items()}
        body[field] = [bad] if isinstance(body[field], list) else bad
        response = call(server, world, endpoint, json.dumps(body).encode())
        assert_validation_error(response, name)
        named = {key.split(".")[0] for key in response.json().get("details", {})}
        assert field in named, (name, response.text[:300])
    assert stored() == before


@pytest.mark.parametrize(("path", "parameter"), QUERY_TEXT)
def test_nul_in_a_query_filter_is_400(server, world, path, parameter):
    """A filter's text with a NUL never reaches the database (PostgreSQL refuses it): 400."""
    response = httpx.get(
        f"{server.base_url}{path}",
        params={parameter: BAD_TEXT["nul"]},
        headers={"Authorization": f"Bearer {world['token']}"},
        timeout=10,
    )
    assert_validation_error(response, parameter)


# --- the feed's frames ---------------------------------------------------------------------
@pytest.mark.parametrize(("frame_type", "field"), [("answer", "response"), ("decline", "reason")])
@pytest.mark.parametrize("bad", list(BAD_TEXT), ids=list(BAD_TEXT))
def test_feed_frame_with_nul_or_lone_surrogate_is_a_validation_error(
    server, world, frame_type, field, bad
):
    """An answer or decline frame whose text has a NUL or a lone surrogate: a
    VALIDATION_ERROR error frame (REST's message and details), the question stays pending
    (on main: INTERNAL_ERROR, or the NUL stored on SQLite)."""
    question_id = world["ids"]["question"]
    with connect(
        server.ws_url + FEED,
        subprotocols=["makima.bearer", world["token"]],  # type: ignore[list-item]
        origin=server.base_url,  # type: ignore[arg-type]
        open_timeout=10,
    ) as socket:
        assert json.loads(socket.recv(timeout=10))["type"] == "snapshot"
        frame = {"type": frame_type, "questionId": question_id, field: BAD_TEXT[bad]}
        # ensure_ascii: the lone surrogate travels as the escape \ud800 in valid UTF-8.
        socket.send(json.dumps(frame))
        error = json.loads(socket.recv(timeout=10))
    assert (error["type"], error["code"], error["questionId"]) == (
        "error",
        "VALIDATION_ERROR",
        question_id,
    )
    assert field in error["details"]
    question = off_thread(Question.objects.get, pk=question_id)
    assert question.status == Question.Status.PENDING
    assert question.response is None and question.reason is None
