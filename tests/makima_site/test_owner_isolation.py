"""Every owner endpoint × a second owner's ids → 404 (403 FORBIDDEN only where the contract
says so), never their data, and their objects unchanged.

The operations come from the OpenAPI schema, so a new endpoint is covered the day it lands;
an id parameter of an unknown kind fails `test_every_id_parameter_has_a_known_kind` until
a builder for it is added to KINDS below.
"""

import json
import re
import uuid

import pytest
from asgiref.sync import async_to_sync
from django.forms.models import model_to_dict
from drf_spectacular.generators import SchemaGenerator

from mesh.credentials import services as credential_services
from mesh.models import Task
from mesh.routing import http_urlpatterns
from mesh.wakeups.hub import close_hub
from orders.models import Order
from tests import factories
from tests.mesh.conftest import call

HTTP_METHODS = ("get", "put", "patch", "post", "delete")
# Plausible input for every writable operation, so a view that validates before it looks
# the object up cannot answer 400 instead of revealing nothing.
BODY = {
    "name": "renamed",
    "title": "renamed",
    "goal": "renamed",
    "response": "yes",
    "reconcileMode": "manual",
    "status": "done",
}


def _owner_objects(owner) -> dict:
    directive = factories.make_directive(owner, title="Secret plan of the other owner")
    task, _ = factories.make_task(owner, directive, name="other-owner-task")
    token, _ = credential_services.api_token_create(owner=owner, name="other-owner-token")
    question = factories.make_question(task, question="Other owner's secret question?")
    order = factories.make_order(owner, directive, title="Other owner's secret order")
    return {
        "directive": directive,
        "task": task,
        "token": token,
        "question": question,
        "order": order,
    }


# Path prefix (up to the id parameter) → which of the other owner's objects to use.
KINDS = {
    "/api/v1/directives/": "directive",
    "/api/v1/tasks/": "task",
    "/api/v1/tokens/": "token",
    "/api/v1/mesh/questions/": "question",
    "/api/v1/questions/": "question",
    "/api/v1/mesh/supervisor/questions/": "question",
    "/api/v1/orders/": "order",
}
# (method, path) that the contract answers with 403 FORBIDDEN for another owner's object.
FORBIDDEN_OK = {
    ("post", "/api/v1/mesh/questions/{id}/answer"),
    ("post", "/api/v1/mesh/questions/{id}/decline"),
}


def _schema_operations():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, item in schema["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield method, path, item[method]


def _served_by_a_consumer(path: str) -> bool:
    """Whether the path goes to a Channels consumer (mesh.routing) rather than to Django."""
    concrete = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path).lstrip("/")
    return any(pattern.pattern.match(concrete) for pattern in http_urlpatterns)


OPERATIONS = list(_schema_operations())
ID_OPERATIONS = [(m, p, op) for m, p, op in OPERATIONS if "{" in p and not _served_by_a_consumer(p)]
CONSUMER_ID_OPERATIONS = [
    (m, p, op) for m, p, op in OPERATIONS if "{" in p and _served_by_a_consumer(p)
]
LIST_OPERATIONS = [(m, p, op) for m, p, op in OPERATIONS if m == "get" and "{" not in p]


def _kind(path: str) -> str | None:
    prefix = path[: path.index("{")]
    return KINDS.get(prefix)


def _uses_tool_key(operation) -> bool:
    return any("tool_key" in requirement for requirement in operation.get("security", []))


def _snapshot(obj) -> dict:
    fresh = type(obj).objects.filter(pk=obj.pk).first()
    return model_to_dict(fresh) if fresh is not None else {}


@pytest.fixture
def theirs(other_owner):
    return _owner_objects(other_owner)


@pytest.fixture
def mine(owner, client_for, owner_token):
    """The first owner's own clients: their token and a directive task's tool key."""
    directive = factories.make_directive(owner)
    _, key = factories.make_task(owner, directive)
    return {
        "owner": client_for(token=owner_token),
        "tool": client_for(tool_key=key),
        "tool_key": key,
    }


def _forbidden_strings(objects: dict) -> list[str]:
    return [
        str(objects["directive"].pk),
        "Secret plan of the other owner",
        str(objects["task"].pk),
        "other-owner-task",
        str(objects["token"].pk),
        "other-owner-token",
        str(objects["question"].pk),
        "Other owner's secret question?",
        str(objects["order"].pk),
        "Other owner's secret order",
    ]


def test_every_id_parameter_has_a_known_kind():
    """Each operation with an id in its path is mapped to a kind of object to try."""
    every = ID_OPERATIONS + CONSUMER_ID_OPERATIONS
    unknown = [f"{m.upper()} {p}" for m, p, _ in every if _kind(p) is None]
    assert not unknown, f"add these path prefixes to KINDS: {unknown}"


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    ID_OPERATIONS,
    ids=[f"{m.upper()} {p}" for m, p, _ in ID_OPERATIONS],
)
def test_another_owners_object_is_never_reached(method, path, operation, theirs, mine):
    """The other owner's id answers 404 (or the contract's 403), reveals and changes nothing."""
    kind = _kind(path)
    assert kind is not None
    target = theirs[kind]
    before = {name: _snapshot(obj) for name, obj in theirs.items()}
    client = mine["tool"] if _uses_tool_key(operation) else mine["owner"]
    url = re.sub(r"\{[^}]+\}", str(target.pk), path)
    kwargs = {"format": "json"} if method in ("put", "patch", "post") else {}
    data = BODY if method in ("put", "patch", "post") else None
    response = getattr(client, method)(url, data, **kwargs)

    allowed = {404, 403} if (method, re.sub(r"\{[^}]+\}", "{id}", path)) in FORBIDDEN_OK else {404}
    assert response.status_code in allowed, (response.status_code, response.content[:300])
    body = response.content.decode()
    assert json.loads(body)["code"] in {"NOT_FOUND", "FORBIDDEN"}
    for secret in _forbidden_strings(theirs):
        if secret != str(target.pk):
            assert secret not in body
    assert {name: _snapshot(obj) for name, obj in theirs.items()} == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("method", "path", "operation"),
    CONSUMER_ID_OPERATIONS,
    ids=[f"{m.upper()} {p}" for m, p, _ in CONSUMER_ID_OPERATIONS],
)
def test_a_consumer_never_reaches_another_owners_object(method, path, operation, theirs, mine):
    """The same through the Channels consumers (ask/poll), called over ASGI."""
    target = theirs[_kind(path)]
    before = {name: _snapshot(obj) for name, obj in theirs.items()}
    url = re.sub(r"\{[^}]+\}", str(target.pk), path)

    async def request():
        try:
            return await call(method.upper(), url, tool_key=mine["tool_key"], body=BODY)
        finally:
            await close_hub()

    response = async_to_sync(request)()
    assert response.status == 404, (response.status, response.body[:300])
    body = response.body.decode()
    assert json.loads(body)["code"] == "NOT_FOUND"
    for secret in _forbidden_strings(theirs):
        if secret != str(target.pk):
            assert secret not in body
    assert {name: _snapshot(obj) for name, obj in theirs.items()} == before


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    LIST_OPERATIONS,
    ids=[f"GET {p}" for _, p, _ in LIST_OPERATIONS],
)
def test_lists_never_show_another_owners_objects(method, path, operation, theirs, mine):
    """A list holds only the caller's objects, whatever the filters."""
    client = mine["tool"] if _uses_tool_key(operation) else mine["owner"]
    response = client.get(path)
    assert response.status_code in (200, 401, 403), response.content[:300]
    for secret in _forbidden_strings(theirs):
        assert secret not in response.content.decode()


def _id_filters():
    for _, path, operation in LIST_OPERATIONS:
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and parameter["name"] in ("directive", "task"):
                yield path, parameter["name"]


@pytest.mark.parametrize(("path", "name"), list(_id_filters()))
def test_filtering_by_another_owners_id_reveals_nothing(path, name, theirs, mine):
    """Filtering by the other owner's id answers exactly as filtering by an unknown id."""
    theirs_response = mine["owner"].get(path, {name: str(theirs[name].pk)})
    unknown_response = mine["owner"].get(path, {name: str(uuid.uuid4())})
    assert theirs_response.status_code == unknown_response.status_code
    assert theirs_response.json() == unknown_response.json()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/tasks/", {"name": "x"}),
        ("/api/v1/orders/", {"title": "x", "orderType": "chore"}),
    ],
)
def test_nothing_can_be_created_under_another_owners_directive(path, body, theirs, mine):
    """Creating under another owner's directive is refused exactly like an unknown one."""
    their_id, unknown_id = str(theirs["directive"].pk), str(uuid.uuid4())
    theirs_response = mine["owner"].post(path, {**body, "directive": their_id}, format="json")
    unknown_response = mine["owner"].post(path, {**body, "directive": unknown_id}, format="json")
    assert theirs_response.status_code == unknown_response.status_code == 400
    # Only the caller's own input is echoed back: the answers differ in nothing else.
    assert theirs_response.content.decode().replace(their_id, "ID") == (
        unknown_response.content.decode().replace(unknown_id, "ID")
    )
    assert not Task.objects.filter(directive=theirs["directive"], name="x").exists()
    assert not Order.objects.filter(directive=theirs["directive"], title="x").exists()
