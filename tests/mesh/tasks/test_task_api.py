import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework import status

from makima_site.errors import NotFound, Unauthorized
from mesh.credentials.authentication import task_from_tool_key
from mesh.models import Task
from mesh.tasks import services as task_services
from tests import factories


def test_create_returns_tool_key_once(api, directive):
    """Creating a task returns its tool key; reading it later never shows the key."""
    created = api.post(
        "/api/v1/tasks/", {"name": "build", "directive": str(directive.id)}, format="json"
    )
    assert created.status_code == status.HTTP_201_CREATED
    assert created.json()["toolKey"].startswith("mtk_")
    fetched = api.get(f"/api/v1/tasks/{created.json()['id']}/")
    assert fetched.status_code == status.HTTP_200_OK
    assert "toolKey" not in fetched.json()


def test_other_owners_task_is_404(api, other_owner):
    """Another owner's task is invisible."""
    task, _ = factories.make_task(other_owner)
    assert api.get(f"/api/v1/tasks/{task.id}/").status_code == status.HTTP_404_NOT_FOUND


def test_create_without_directive(api, owner):
    """A task may exist without a directive."""
    response = api.post("/api/v1/tasks/", {"name": "loose"}, format="json")
    assert response.status_code == status.HTTP_201_CREATED
    body = response.json()
    assert body["directive"] is None
    assert body["status"] == "pending"
    assert set(body) == {"id", "name", "directive", "status", "createdAt", "updatedAt", "toolKey"}


def test_create_with_other_owners_directive_is_400(api, other_owner):
    """A task may only reference a directive of the same owner; nothing is created."""
    theirs = factories.make_directive(other_owner)
    response = api.post("/api/v1/tasks/", {"name": "x", "directive": str(theirs.id)}, format="json")
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert "directive" in response.json()["details"]
    assert not Task.objects.filter(name="x").exists()


def test_create_with_unknown_directive_is_400(api):
    """An unknown or malformed directive id is a validation error."""
    for value in [str(uuid.uuid4()), "not-a-uuid", 7]:
        response = api.post("/api/v1/tasks/", {"name": "x", "directive": value}, format="json")
        assert response.status_code == status.HTTP_400_BAD_REQUEST, value
        assert "directive" in response.json()["details"]


def test_create_validates_name_and_status(api):
    """A missing name, an overlong name or an unknown status is 400 with field details."""
    cases = [
        ({}, "name"),
        ({"name": "n" * 201}, "name"),
        ({"name": "x", "status": "odd"}, "status"),
    ]
    for payload, field in cases:
        response = api.post("/api/v1/tasks/", payload, format="json")
        assert response.status_code == status.HTTP_400_BAD_REQUEST
        assert field in response.json()["details"]
    assert Task.objects.count() == 0


def test_update_status_and_name(api, task_and_key):
    """PATCH changes the given fields; PUT replaces the required ones."""
    task, _ = task_and_key
    directive_id = task.directive_id
    patched = api.patch(f"/api/v1/tasks/{task.id}/", {"status": "running"}, format="json")
    assert patched.status_code == status.HTTP_200_OK
    assert patched.json()["status"] == "running"
    put = api.put(f"/api/v1/tasks/{task.id}/", {"name": "renamed", "status": "done"}, format="json")
    assert put.status_code == status.HTTP_200_OK
    task.refresh_from_db()
    assert (task.name, task.status, task.directive_id) == ("renamed", "done", directive_id)


def test_update_to_other_owners_directive_is_400(api, task_and_key, other_owner):
    """Moving a task under another owner's directive is refused and changes nothing."""
    task, _ = task_and_key
    original = task.directive_id
    theirs = factories.make_directive(other_owner)
    response = api.patch(f"/api/v1/tasks/{task.id}/", {"directive": str(theirs.id)}, format="json")
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    task.refresh_from_db()
    assert task.directive_id == original


def test_update_cannot_touch_the_key(api, task_and_key):
    """The tool key hash and prefix are not writable over the API."""
    task, key = task_and_key
    api.patch(
        f"/api/v1/tasks/{task.id}/", {"toolKeyHash": "0" * 64, "toolKeyPrefix": "x"}, format="json"
    )
    assert task_from_tool_key(key).pk == task.pk


def test_delete_retires_the_key(api, task_and_key):
    """DELETE removes the task (204); its key then means "task gone" (404)."""
    task, key = task_and_key
    assert api.delete(f"/api/v1/tasks/{task.id}/").status_code == status.HTTP_204_NO_CONTENT
    assert not Task.objects.filter(pk=task.pk).exists()
    with pytest.raises(NotFound):
        task_from_tool_key(key)


def test_rotate_key(api, task_and_key):
    """rotate-key returns a new key once; the old one stops working at once."""
    task, old_key = task_and_key
    response = api.post(f"/api/v1/tasks/{task.id}/rotate-key/")
    assert response.status_code == status.HTTP_200_OK
    new_key = response.json()["toolKey"]
    assert new_key != old_key
    assert task_from_tool_key(new_key).pk == task.pk
    with pytest.raises(Unauthorized):
        task_from_tool_key(old_key)


def test_other_owner_gets_404_everywhere(other_api, task_and_key):
    """Another owner can neither read, change, delete nor rotate the task."""
    task, key = task_and_key
    path = f"/api/v1/tasks/{task.id}/"
    assert other_api.get(path).status_code == status.HTTP_404_NOT_FOUND
    assert other_api.patch(path, {"name": "x"}, format="json").status_code == 404
    assert other_api.put(path, {"name": "x"}, format="json").status_code == 404
    assert other_api.delete(path).status_code == status.HTTP_404_NOT_FOUND
    assert other_api.post(f"{path}rotate-key/").status_code == status.HTTP_404_NOT_FOUND
    assert other_api.get("/api/v1/tasks/").json()["count"] == 0
    assert task_from_tool_key(key).name == task.name


def test_filter_by_status_and_directive(api, owner, directive):
    """?status= and ?directive= narrow the list; a bad status is 400."""
    other_directive = factories.make_directive(owner)
    running, _ = factories.make_task(owner, directive, name="a")
    task_services.task_update(task=running, status="running")
    factories.make_task(owner, directive, name="b")
    factories.make_task(owner, other_directive, name="c")

    def names(query):
        return sorted(item["name"] for item in api.get(f"/api/v1/tasks/?{query}").json()["results"])

    assert names("status=running") == ["a"]
    assert names(f"directive={directive.id}") == ["a", "b"]
    assert names(f"directive={directive.id}&status=pending") == ["b"]
    assert names(f"directive={uuid.uuid4()}") == []
    bad = api.get("/api/v1/tasks/?status=sleeping")
    assert bad.status_code == status.HTTP_400_BAD_REQUEST
    assert "status" in bad.json()["details"]
    assert api.get("/api/v1/tasks/?directive=nope").status_code == status.HTTP_400_BAD_REQUEST


def test_filter_by_other_owners_directive_matches_nothing(api, other_owner):
    """Filtering by another owner's directive id is an empty list, not a 400 that would
    reveal that the directive exists."""
    theirs = factories.make_directive(other_owner)
    factories.make_task(other_owner, theirs)
    response = api.get(f"/api/v1/tasks/?directive={theirs.id}")
    assert response.status_code == status.HTTP_200_OK
    assert response.json()["count"] == 0


def test_ordering_by_created_time(api, owner):
    """Newest first by default; ?ordering=createdAt (or created_at) gives oldest first."""
    for name in ["first", "second", "third"]:
        factories.make_task(owner, name=name)
    Task.objects.filter(name="first").update(created_at=timezone.now() - timedelta(minutes=2))
    Task.objects.filter(name="second").update(created_at=timezone.now() - timedelta(minutes=1))

    def names(query=""):
        return [item["name"] for item in api.get(f"/api/v1/tasks/?{query}").json()["results"]]

    assert names() == ["third", "second", "first"]
    assert names("ordering=createdAt") == ["first", "second", "third"]
    assert names("ordering=created_at") == ["first", "second", "third"]
    assert names("ordering=-createdAt") == ["third", "second", "first"]


def test_list_is_paginated(api, owner):
    """Lists are pages: count, next, previous, results; pageSize is honoured."""
    for index in range(3):
        factories.make_task(owner, name=f"t{index}")
    body = api.get("/api/v1/tasks/?pageSize=2").json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]


def test_list_query_count_is_constant(api, owner, directive, django_assert_max_num_queries):
    """Listing many tasks with directives does not run a query per task."""
    for _ in range(30):
        factories.make_task(owner, directive)
    with django_assert_max_num_queries(4):
        assert api.get("/api/v1/tasks/").status_code == status.HTTP_200_OK
