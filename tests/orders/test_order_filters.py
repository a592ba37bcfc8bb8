"""The owner's order list: every filter, search and ordering (orders/filters.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework import status

from orders.models import Order
from tests import factories

LIST = "/api/v1/orders/"


@pytest.fixture
def orders(owner, directive):
    """Four orders with distinct status, priority, type, labels and creation times."""
    now = timezone.now()
    specs = [
        ("Alpha login bug", "open", "low", "bug", ["auth"], 4),
        ("Beta deploy chore", "in_progress", "critical", "chore", ["ops", "ci"], 3),
        ("Gamma spike", "done", "medium", "spike", ["auth", "ci"], 2),
        ("Delta feature", "closed", "high", "feature", [], 1),
    ]
    made = {}
    for title, status_, priority, order_type, labels, days_ago in specs:
        order = factories.make_order(
            owner,
            directive,
            title=title,
            status=status_,
            priority=priority,
            order_type=order_type,
            labels=labels,
            description=f"Details about {title.split()[0].lower()}",
        )
        Order.objects.filter(pk=order.pk).update(
            created_at=now - timedelta(days=days_ago),
            updated_at=now - timedelta(days=10 - days_ago),
        )
        made[title.split()[0]] = order
    return made


def titles(response) -> list[str]:
    assert response.status_code == status.HTTP_200_OK, response.json()
    return [item["title"].split()[0] for item in response.json()["results"]]


def test_default_order_is_newest_first(api, orders):
    """Without ordering, the newest order comes first."""
    assert titles(api.get(LIST)) == ["Delta", "Gamma", "Beta", "Alpha"]


def test_filter_by_status(api, orders):
    """status=open keeps the open orders only."""
    assert titles(api.get(LIST, {"status": "open"})) == ["Alpha"]


def test_filter_by_several_statuses(api, orders):
    """Repeating status keeps orders in any of them."""
    assert titles(api.get(LIST, {"status": ["done", "closed"]})) == ["Delta", "Gamma"]


def test_filter_by_priority(api, orders):
    """priority=critical keeps the critical orders only."""
    assert titles(api.get(LIST, {"priority": "critical"})) == ["Beta"]


def test_filter_by_order_type(api, orders):
    """orderType=spike keeps the spikes only."""
    assert titles(api.get(LIST, {"orderType": "spike"})) == ["Gamma"]


def test_filter_by_directive(api, owner, orders):
    """directive=<id> keeps the orders on that directive."""
    elsewhere = factories.make_directive(owner)
    factories.make_order(owner, elsewhere, title="Epsilon elsewhere")
    assert titles(api.get(LIST, {"directive": str(elsewhere.id)})) == ["Epsilon"]


def test_filter_by_another_owners_directive_finds_nothing(api, other_owner, orders):
    """Filtering by another owner's directive reveals nothing."""
    foreign = factories.make_directive(other_owner)
    factories.make_order(other_owner, foreign)
    assert titles(api.get(LIST, {"directive": str(foreign.id)})) == []


def test_filter_by_label(api, orders):
    """label=auth keeps the orders carrying exactly that label."""
    assert titles(api.get(LIST, {"label": "auth"})) == ["Gamma", "Alpha"]


def test_label_filter_is_exact(api, orders):
    """label=au matches no order labelled auth."""
    assert titles(api.get(LIST, {"label": "au"})) == []


def test_filters_combine(api, orders):
    """label=ci and status=done together keep what matches both."""
    assert titles(api.get(LIST, {"label": "ci", "status": "done"})) == ["Gamma"]


def test_filter_by_created_range(api, orders):
    """createdAfter is inclusive, createdBefore exclusive."""
    gamma, beta = orders["Gamma"], orders["Beta"]
    gamma.refresh_from_db()
    beta.refresh_from_db()
    response = api.get(
        LIST,
        {
            "createdAfter": beta.created_at.isoformat(),
            "createdBefore": gamma.created_at.isoformat(),
        },
    )
    assert titles(response) == ["Beta"]


def test_search_in_title_and_description(api, orders):
    """search matches title or description, ignoring case."""
    assert titles(api.get(LIST, {"search": "DEPLOY"})) == ["Beta"]
    assert titles(api.get(LIST, {"search": "about gamma"})) == ["Gamma"]


def test_ordering_by_priority_is_by_severity(api, orders):
    """ordering=priority goes low, medium, high, critical — not alphabetically."""
    assert titles(api.get(LIST, {"ordering": "priority"})) == ["Alpha", "Gamma", "Delta", "Beta"]


def test_ordering_by_priority_descending(api, orders):
    """ordering=-priority puts critical first."""
    assert titles(api.get(LIST, {"ordering": "-priority"})) == ["Beta", "Delta", "Gamma", "Alpha"]


def test_ordering_by_created(api, orders):
    """ordering=created is oldest first."""
    assert titles(api.get(LIST, {"ordering": "created"})) == ["Alpha", "Beta", "Gamma", "Delta"]


def test_ordering_by_updated_descending(api, orders):
    """ordering=-updated is most recently updated first."""
    assert titles(api.get(LIST, {"ordering": "-updated"})) == ["Alpha", "Beta", "Gamma", "Delta"]


def test_priority_ties_break_newest_first(api, owner, directive, orders):
    """Orders of equal priority come newest first, so pages are stable."""
    factories.make_order(owner, directive, title="Zeta new", priority="low")
    assert titles(api.get(LIST, {"ordering": "priority"}))[:2] == ["Zeta", "Alpha"]


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"status": "wip"}, "status"),
        ({"priority": "urgent"}, "priority"),
        ({"orderType": "epic"}, "orderType"),
        ({"directive": "not-a-uuid"}, "directive"),
        ({"createdAfter": "yesterday"}, "createdAfter"),
        ({"ordering": "title"}, "ordering"),
        ({"label": "x" * 51}, "label"),
        ({"search": "x" * 201}, "search"),
    ],
)
def test_bad_filter_values_are_400(api, orders, params, name):
    """A malformed filter is 400 VALIDATION_ERROR naming the parameter."""
    response = api.get(LIST, params)
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert name in response.json()["details"]


@pytest.mark.parametrize(
    "query",
    [
        {"createdAfter": "0001-01-01T00:00:00+01:00"},
        {"createdBefore": "9999-12-31T23:59:59-01:00"},
        {"createdBefore": "6488-05-29T10:12:27.246428+17:53"},
    ],
)
def test_an_instant_the_database_cannot_take_is_400(api, query):
    """Out-of-range instants (found by `make fuzz`) are a VALIDATION_ERROR, never a 500."""
    response = api.get("/api/v1/orders/", query)
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert "±14:00" in response.json()["message"]


def test_an_instant_with_an_offset_is_compared_in_utc(api, owner, directive):
    """createdAfter with an offset selects the same orders as its UTC spelling."""
    factories.make_order(owner, directive)
    with_offset = api.get("/api/v1/orders/", {"createdAfter": "2000-01-01T05:00:00+05:00"})
    in_utc = api.get("/api/v1/orders/", {"createdAfter": "2000-01-01T00:00:00Z"})
    assert with_offset.status_code == in_utc.status_code == 200
    assert with_offset.json()["count"] == in_utc.json()["count"] == 1
