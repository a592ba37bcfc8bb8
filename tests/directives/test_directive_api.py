"""/api/v1/directives/: owner-scoped CRUD, validation, filters and ordering."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework import status

from directives.models import Directive
from mesh.models import Task
from tests import factories


def test_create_with_defaults(api, owner):
    """A title is enough; mode defaults to auto, status to active; the wire is camelCase."""
    response = api.post("/api/v1/directives/", {"title": "Keep CI green"}, format="json")
    assert response.status_code == status.HTTP_201_CREATED
    body = response.json()
    assert body["reconcileMode"] == "auto" and body["status"] == "active"
    assert body["goal"] == "" and body["repositoryUrl"] is None
    assert set(body) == {
        "id", "title", "goal", "reconcileMode", "repositoryUrl", "status", "createdAt", "updatedAt"
    }  # fmt: skip
    assert Directive.objects.get(pk=body["id"]).owner == owner


def test_create_with_every_field(api):
    """Every writable field round-trips."""
    payload = {
        "title": "Migrate",
        "goal": "Move to PostgreSQL 17",
        "reconcileMode": "semi-auto",
        "repositoryUrl": "https://github.com/example/app",
        "status": "paused",
    }
    body = api.post("/api/v1/directives/", payload, format="json").json()
    assert {key: body[key] for key in payload} == payload


@pytest.mark.parametrize(
    "payload, field",
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "t" * 201}, "title"),
        ({"title": "x", "reconcileMode": "yolo"}, "reconcileMode"),
        ({"title": "x", "status": "gone"}, "status"),
        ({"title": "x", "repositoryUrl": "not a url"}, "repositoryUrl"),
        ({"title": "x", "repositoryUrl": "javascript:alert(1)"}, "repositoryUrl"),
        ({"title": "x", "repositoryUrl": "https://" + "a" * 500 + ".com"}, "repositoryUrl"),
    ],
)
def test_invalid_input_is_400_and_creates_nothing(api, payload, field):
    """Bad input is a 400 VALIDATION_ERROR naming the camelCase field; nothing is written."""
    response = api.post("/api/v1/directives/", payload, format="json")
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert field in body["details"], body
    assert Directive.objects.count() == 0


def test_update_and_clear_repository_url(api, owner):
    """PATCH changes fields; an empty repository URL clears it."""
    directive = factories.make_directive(owner, repository_url="https://example.com/r")
    path = f"/api/v1/directives/{directive.id}/"
    response = api.patch(path, {"reconcileMode": "manual", "repositoryUrl": ""}, format="json")
    assert response.status_code == status.HTTP_200_OK
    directive.refresh_from_db()
    assert directive.reconcile_mode == "manual" and directive.repository_url is None


def test_invalid_update_changes_nothing(api, directive):
    """A rejected PATCH leaves the directive as it was."""
    path = f"/api/v1/directives/{directive.id}/"
    response = api.patch(path, {"title": "new", "repositoryUrl": "nope"}, format="json")
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    directive.refresh_from_db()
    assert directive.title != "new"


def test_delete_detaches_tasks(api, owner, directive):
    """Deleting a directive keeps its tasks, without a directive."""
    task, _ = factories.make_task(owner, directive)
    assert api.delete(f"/api/v1/directives/{directive.id}/").status_code == 204
    task = Task.objects.get(pk=task.pk)
    assert task.directive_id is None


def test_other_owner_gets_404_everywhere(other_api, directive):
    """Another owner can neither see, change nor delete the directive."""
    path = f"/api/v1/directives/{directive.id}/"
    assert other_api.get(path).status_code == status.HTTP_404_NOT_FOUND
    assert other_api.patch(path, {"title": "x"}, format="json").status_code == 404
    assert other_api.put(path, {"title": "x"}, format="json").status_code == 404
    assert other_api.delete(path).status_code == status.HTTP_404_NOT_FOUND
    assert other_api.get("/api/v1/directives/").json()["count"] == 0
    assert Directive.objects.filter(pk=directive.pk, title=directive.title).exists()


def test_filters(api, owner):
    """?status= and ?reconcileMode= narrow the list; unknown values are 400."""
    factories.make_directive(owner, title="a", status="paused")
    factories.make_directive(owner, title="b", reconcile_mode="manual")
    factories.make_directive(owner, title="c")

    def titles(query):
        results = api.get(f"/api/v1/directives/?{query}").json()["results"]
        return sorted(item["title"] for item in results)

    assert titles("status=paused") == ["a"]
    assert titles("reconcileMode=manual") == ["b"]
    assert titles("status=active&reconcileMode=auto") == ["c"]
    response = api.get("/api/v1/directives/?reconcileMode=yolo")
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert "reconcileMode" in response.json()["details"]


def test_ordering(api, owner):
    """Newest first by default; ?ordering=createdAt for oldest first."""
    for title in ["old", "mid", "new"]:
        factories.make_directive(owner, title=title)
    Directive.objects.filter(title="old").update(created_at=timezone.now() - timedelta(hours=2))
    Directive.objects.filter(title="mid").update(created_at=timezone.now() - timedelta(hours=1))

    def titles(query=""):
        return [item["title"] for item in api.get(f"/api/v1/directives/?{query}").json()["results"]]

    assert titles() == ["new", "mid", "old"]
    assert titles("ordering=createdAt") == ["old", "mid", "new"]


def test_list_query_count_is_constant(api, owner, django_assert_max_num_queries):
    """Listing many directives does not run a query per directive."""
    for _ in range(30):
        factories.make_directive(owner)
    with django_assert_max_num_queries(4):
        assert api.get("/api/v1/directives/").status_code == status.HTTP_200_OK
