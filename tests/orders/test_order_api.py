"""/api/v1/orders/: the owner's CRUD, owner isolation, and the list's constant query count."""

import pytest
from rest_framework import status

from orders.models import Order
from tests import factories

LIST = "/api/v1/orders/"


def detail(order) -> str:
    return f"/api/v1/orders/{order.id}/"


@pytest.fixture
def order(owner, directive):
    return factories.make_order(owner, directive, title="Fix login", labels=["auth"])


@pytest.fixture
def others_order(other_owner):
    return factories.make_order(other_owner, factories.make_directive(other_owner))


# --- create ------------------------------------------------------------------------------------
@pytest.mark.parametrize("order_type", ["feature", "bug", "spike", "chore"])
def test_owner_creates_any_type(api, directive, owner, order_type):
    """Owners may file every type, unlike tasks; defaults are open and medium."""
    response = api.post(
        LIST,
        {"title": "New thing", "orderType": order_type, "directive": str(directive.id)},
        format="json",
    )
    assert response.status_code == status.HTTP_201_CREATED
    body = response.json()
    assert (body["orderType"], body["status"], body["priority"]) == (order_type, "open", "medium")
    assert body["directive"] == str(directive.id)
    assert body["directiveTitle"] == directive.title
    assert body["filedByTask"] is None
    assert Order.objects.get(pk=body["id"]).owner == owner


def test_create_takes_the_directives_repository_url(api, owner):
    """Without repositoryUrl, a new order takes its directive's."""
    directive = factories.make_directive(owner, repository_url="https://example.com/r.git")
    body = api.post(
        LIST, {"title": "t", "orderType": "bug", "directive": str(directive.id)}, format="json"
    ).json()
    assert body["repositoryUrl"] == "https://example.com/r.git"


def test_create_on_another_owners_directive_is_400(api, other_owner):
    """A directive of another owner is refused as if it did not exist; nothing stored."""
    foreign = factories.make_directive(other_owner)
    response = api.post(
        LIST, {"title": "t", "orderType": "bug", "directive": str(foreign.id)}, format="json"
    )
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert "directive" in response.json()["details"]
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"orderType": "bug"}, "title"),
        ({"title": "t"}, "orderType"),
        ({"title": "t", "orderType": "epic"}, "orderType"),
        ({"title": "t", "orderType": "bug", "status": "wip"}, "status"),
        ({"title": "t", "orderType": "bug", "labels": ["a", "a"]}, "labels"),
        ({"title": "t", "orderType": "bug", "labels": ["x" * 51]}, "labels"),
    ],
)
def test_create_with_bad_input_is_400(api, directive, body, field):
    """Each broken rule is 400 VALIDATION_ERROR naming the field; nothing stored."""
    response = api.post(LIST, {"directive": str(directive.id), **body}, format="json")
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    details = response.json()["details"]
    assert any(name == field or name.startswith(f"{field}.") for name in details)
    assert not Order.objects.exists()


def test_create_without_directive_is_400(api):
    """The directive is required."""
    response = api.post(LIST, {"title": "t", "orderType": "bug"}, format="json")
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert "directive" in response.json()["details"]


# --- read --------------------------------------------------------------------------------------
def test_retrieve_own_order(api, order):
    """The owner reads their order with every field, camelCased."""
    body = api.get(detail(order)).json()
    assert body["id"] == str(order.id)
    assert set(body) == {
        "id",
        "title",
        "description",
        "priority",
        "status",
        "orderType",
        "directive",
        "directiveTitle",
        "labels",
        "repositoryUrl",
        "filedByTask",
        "createdAt",
        "updatedAt",
    }


def test_retrieve_shows_the_filing_task(api, owner, directive, task_and_key):
    """An order a task filed names that task."""
    task, _ = task_and_key
    order = factories.make_order(owner, directive, filed_by_task=task)
    assert api.get(detail(order)).json()["filedByTask"] == str(task.id)


def test_list_shows_only_own_orders(api, order, others_order):
    """The list never includes another owner's orders."""
    body = api.get(LIST).json()
    assert body["count"] == 1
    assert [item["id"] for item in body["results"]] == [str(order.id)]


def test_other_owners_order_is_404_everywhere(api, others_order):
    """Another owner's order: 404 to read, change and delete; it stays unchanged."""
    url = detail(others_order)
    assert api.get(url).status_code == status.HTTP_404_NOT_FOUND
    patched = api.patch(url, {"status": "done"}, format="json")
    assert patched.status_code == status.HTTP_404_NOT_FOUND
    assert patched.json()["code"] == "NOT_FOUND"
    assert api.delete(url).status_code == status.HTTP_404_NOT_FOUND
    others_order.refresh_from_db()
    assert others_order.status == "open"


def test_unauthenticated_is_401(client_for, order):
    """No credential: 401 UNAUTHORIZED."""
    response = client_for().get(LIST)
    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json()["code"] == "UNAUTHORIZED"


def test_tool_key_is_refused_on_the_owner_api(client_for, task_and_key, order):
    """A task's tool key never works on the owner API."""
    response = client_for(tool_key=task_and_key[1]).get(LIST)
    assert response.status_code == status.HTTP_401_UNAUTHORIZED


# --- update ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path", [("in_progress",), ("in_progress", "done"), ("done", "open"), ("closed",)]
)
def test_status_transitions(api, order, path):
    """Status moves between open, in_progress, done and closed with PATCH."""
    for new_status in path:
        response = api.patch(detail(order), {"status": new_status}, format="json")
        assert response.status_code == status.HTTP_200_OK
        assert response.json()["status"] == new_status
    order.refresh_from_db()
    assert order.status == path[-1]


def test_patch_changes_only_the_given_fields(api, order):
    """A PATCH of priority and labels leaves the rest alone and bumps updatedAt."""
    before = order.updated_at
    response = api.patch(
        detail(order), {"priority": "critical", "labels": ["auth", "p0"]}, format="json"
    )
    assert response.status_code == status.HTTP_200_OK
    order.refresh_from_db()
    assert (order.priority, order.labels, order.title) == ("critical", ["auth", "p0"], "Fix login")
    assert order.updated_at > before


def test_patch_to_another_owners_directive_is_400(api, order, other_owner):
    """Moving an order onto another owner's directive is refused."""
    foreign = factories.make_directive(other_owner)
    response = api.patch(detail(order), {"directive": str(foreign.id)}, format="json")
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    order.refresh_from_db()
    assert order.directive_id != foreign.id


def test_patch_with_bad_status_is_400(api, order):
    """An unknown status is 400 and changes nothing."""
    response = api.patch(detail(order), {"status": "finished"}, format="json")
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    order.refresh_from_db()
    assert order.status == "open"


def test_put_is_not_allowed(api, order):
    """Changes are PATCHes; PUT is 405."""
    response = api.put(detail(order), {"title": "x"}, format="json")
    assert response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED


def test_read_only_fields_are_ignored(api, order, task_and_key):
    """id, filedByTask and createdAt cannot be written."""
    response = api.patch(
        detail(order),
        {"filedByTask": str(task_and_key[0].id), "createdAt": "2000-01-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == status.HTTP_200_OK
    order.refresh_from_db()
    assert order.filed_by_task_id is None
    assert order.created_at.year > 2000


# --- delete ------------------------------------------------------------------------------------
def test_delete_own_order(api, order):
    """DELETE removes the owner's order: 204."""
    assert api.delete(detail(order)).status_code == status.HTTP_204_NO_CONTENT
    assert not Order.objects.filter(pk=order.pk).exists()


# --- query count -------------------------------------------------------------------------------
@pytest.mark.parametrize("page_size", [1, 50])
def test_list_runs_a_constant_number_of_queries(
    api, owner, directive, task_and_key, django_assert_num_queries, page_size
):
    """Token lookup, count, one page query: 3 queries whatever the page size."""
    other_directive = factories.make_directive(owner)
    for index in range(60):
        factories.make_order(
            owner,
            directive if index % 2 else other_directive,
            labels=[f"l{index}"],
            filed_by_task=task_and_key[0] if index % 3 else None,
        )
    api.get(LIST)  # the token's last_used_at is written at most once a minute
    with django_assert_num_queries(3):
        response = api.get(LIST, {"pageSize": page_size})
    assert len(response.json()["results"]) == page_size
    assert response.json()["count"] == 60
