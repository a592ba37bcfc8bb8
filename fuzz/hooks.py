"""Schemathesis hooks for `make fuzz` (loaded through SCHEMATHESIS_HOOKS by fuzz/run.py).

Generated ids never exist, so without help every operation on one object answers 404 and its
logic is never reached. Before each call of the examples, coverage and fuzzing phases (the
stateful phase follows the schema's OpenAPI links instead), a path id the generator meant as
*valid* is replaced by the id of a real object of the fuzz owner, made for the purpose:

- a question: asked non-blocking by the fuzz task (its tool key), for every question path;
- a directive, task, order or token: created over the owner's REST API (SEED_BODIES), for
  `/api/v1/<collection>/{id}/…`.

An operation that reads gets one object, reused; one that writes (answer, decline, cancel,
rotate, update, delete) gets a fresh one each call, so a settled question or a deleted task
never turns the next call into a 409 or 404. A `directive` in a valid body becomes the fuzz
owner's directive (anyone else's is refused, rightly). Negative cases keep their generated
ids.

In every phase (the stateful one too, which finds ids in list responses), the objects behind
the fuzz credentials — its task, the task's directive and the owner's token, listed in
MESH_FUZZ_PROTECTED — are never handed to a call that writes: one that would (a rotated key,
a revoked token, a task moved off its directive) is given a fresh object instead, or the run
would spend the rest of its time on 401s.
"""

import os
import uuid
from typing import Any

import requests
import schemathesis
from schemathesis import GenerationMode

BASE_URL = os.environ["MESH_FUZZ_BASE_URL"]
OWNER_HEADERS = {"Authorization": f"Bearer {os.environ['MESH_FUZZ_TOKEN']}"}
TASK_HEADERS = {"X-Makima-Tool-Key": os.environ["MESH_FUZZ_TOOL_KEY"]}
PROTECTED = frozenset(filter(None, os.environ.get("MESH_FUZZ_PROTECTED", "").split(",")))
QUESTION_PREFIXES = ("/api/v1/mesh/questions/", "/api/v1/mesh/supervisor/questions/")
QUESTION_COLLECTION = "questions"  # /api/v1/questions/{id}/: the owner's question resource

# What the owner's API needs to create one of each (a directive id is filled in).
SEED_BODIES: dict[str, dict[str, Any]] = {
    "directives": {"title": "Fuzz seed", "goal": "Be fuzzed"},
    "tasks": {"name": "fuzz seed"},
    "orders": {"title": "Fuzz seed", "orderType": "chore", "directive": None},
    "tokens": {"name": "fuzz seed"},
    "webhooks": {"url": "https://example.com/hook", "isActive": False},
    "notification-channels": {"kind": "email", "target": "fuzz@example.com", "isActive": False},
}

# Endpoints and channels fan out: every question and order event of the owner becomes a
# delivery (or a notification) for each active one. Those the run creates are inactive, and
# those schemathesis creates are deleted after the call, so the fuzz owner's events stay
# cheap however long the run (with hundreds active, one ask wrote hundreds of rows and the
# requests behind it timed out).
FAN_OUT = ("/api/v1/webhooks/", "/api/v1/notification-channels/")

_session = requests.Session()
_reused: dict[str, str] = {}


def _post(path: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    response = _session.post(f"{BASE_URL}{path}", json=body, headers=headers, timeout=10)
    response.raise_for_status()
    return response.json()


def directive_id() -> str:
    if "directive" not in _reused:
        _reused["directive"] = _post(
            "/api/v1/directives/", SEED_BODIES["directives"], OWNER_HEADERS
        )["id"]
    return _reused["directive"]


def fresh_question() -> str:
    body = {"question": f"Fuzz seed {uuid.uuid4()}?", "nonBlocking": True}
    return _post("/api/v1/mesh/supervisor/questions", body, TASK_HEADERS)["questionId"]


def fresh(collection: str) -> str | None:
    if collection == QUESTION_COLLECTION:
        return fresh_question()
    body = SEED_BODIES.get(collection)
    if body is None:
        return None
    if "directive" in body:
        body = {**body, "directive": directive_id()}
    return _post(f"/api/v1/{collection}/", body, OWNER_HEADERS)["id"]


def fresh_delivery() -> tuple[str, str]:
    """A webhook of the fuzz owner and one delivery of it (its test event): (ids)."""
    webhook = real_id("webhooks", "GET")
    assert webhook is not None
    delivery = _post(f"/api/v1/webhooks/{webhook}/test/", {}, OWNER_HEADERS)["id"]
    return webhook, delivery


def fill_path(path: str, method: str) -> dict[str, str] | None:
    """Real values for every path parameter of `path`, or None when one has no source."""
    if "{deliveryId}" in path:
        webhook, delivery = fresh_delivery()
        return {"id": webhook, "deliveryId": delivery}
    collection = collection_of(path)
    made = real_id(collection, method) if collection else None
    if made is None:
        return None
    return {"question_id" if "{question_id}" in path else "id": made}


def collection_of(path: str) -> str | None:
    """`questions` for every question path, else the segment after /api/v1/ of an item path."""
    if path.startswith(QUESTION_PREFIXES):
        return QUESTION_COLLECTION
    parts = path.removeprefix("/api/v1/").split("/")
    if len(parts) >= 2 and parts[1].startswith("{"):
        return parts[0]
    return None


def real_id(collection: str, method: str) -> str | None:
    if method != "GET":
        return fresh(collection)
    if collection not in _reused:
        made = fresh(collection)
        if made is None:
            return None
        _reused[collection] = made
    return _reused[collection]


def _is_valid(case: Any, location: str) -> bool:
    if case.meta is None:
        return False
    component = case.meta.components.get(location)
    mode = component.mode if component is not None else case.meta.generation.mode
    return mode == GenerationMode.POSITIVE


def _spare_protected(case: Any) -> None:
    method = case.method.upper()
    if method == "GET" or not case.path_parameters:
        return
    collection = collection_of(case.operation.path)
    for name, value in case.path_parameters.items():
        if str(value) in PROTECTED:
            made = fresh(collection) if collection else None
            case.path_parameters = {**case.path_parameters, name: made or str(uuid.uuid4())}


@schemathesis.hook
def before_call(ctx: Any, case: Any, kwargs: dict[str, Any]) -> None:
    try:
        _real_ids(case)
    finally:
        _spare_protected(case)
    body = case.body
    if isinstance(body, dict) and _is_valid(case, "body"):
        if "directive" in body:
            case.body = body = {**body, "directive": directive_id()}
        # A channel's target must suit its kind, a rule a JSON Schema of the body does not
        # say: an email address for email, an Apprise URL for apprise.
        if case.operation.path.startswith("/api/v1/notification-channels/") and "kind" in body:
            targets = {"email": "fuzz@example.com", "apprise": "json://127.0.0.1:9/"}
            if body["kind"] in targets:
                case.body = {**body, "target": targets[body["kind"]]}


def _real_ids(case: Any) -> None:
    if case.meta is None or case.meta.phase.name.value == "stateful":
        return
    if case.path_parameters and _is_valid(case, "path"):
        values = fill_path(case.operation.path, case.method.upper())
        if values is not None and set(values) <= set(case.path_parameters):
            case.path_parameters = {**case.path_parameters, **values}


@schemathesis.hook
def after_call(ctx: Any, case: Any, response: Any) -> None:
    path = case.operation.path
    if case.method.upper() == "POST" and path in FAN_OUT and response.status_code == 201:
        made = response.json().get("id")
        if made:
            _session.delete(f"{BASE_URL}{path}{made}/", headers=OWNER_HEADERS, timeout=10)
