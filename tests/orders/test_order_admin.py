"""orders/admin.py: the list, its filters and bulk actions, the form, the directive inline, and
the scoping of a non-superuser staff owner to their own orders."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.models import Order
from tests import factories

CHANGELIST = reverse("admin:orders_order_changelist")
ADD = reverse("admin:orders_order_add")


def change_url(order) -> str:
    return reverse("admin:orders_order_change", args=[order.pk])


def grant(user, *codenames: str) -> None:
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))


@pytest.fixture
def staff_owner(db):
    """A non-superuser staff owner with the orders permissions (as via an Owners group)."""
    user = factories.make_owner("sam", is_staff=True)
    grant(user, "view_order", "add_order", "change_order", "delete_order")
    return user


@pytest.fixture
def superuser(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("root", "root@example.com", "pw")


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff(staff_owner) -> Client:
    return login(staff_owner)


@pytest.fixture
def admin_client_(superuser) -> Client:
    return login(superuser)


@pytest.fixture
def own(staff_owner):
    directive = factories.make_directive(staff_owner, title="Sam's directive")
    return factories.make_order(
        staff_owner, directive, title="Sam's order", priority="critical", labels=["ops", "p0"]
    )


@pytest.fixture
def foreign(other_owner):
    directive = factories.make_directive(other_owner, title="Mallory's directive")
    return factories.make_order(other_owner, directive, title="Mallory's order")


def post_action(client: Client, action: str, *orders, **params):
    return client.post(
        CHANGELIST + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""),
        {"action": action, "_selected_action": [str(order.pk) for order in orders]},
        follow=True,
    )


# --- the list ----------------------------------------------------------------------------------
def test_list_shows_the_columns(admin_client_, own):
    """Title, colour-coded status and priority, type, directive link, labels, created."""
    html = admin_client_.get(CHANGELIST).content.decode()
    assert "Sam&#x27;s order" in html
    assert 'class="order-status"' in html and "background:#1d4ed8" in html
    assert 'class="order-priority"' in html and "background:#dc2626" in html
    assert reverse("admin:directives_directive_change", args=[own.directive_id]) in html
    assert 'class="order-label"' in html and ">p0<" in html
    for header in ("column-order_type", "column-created_at", "column-labels_list"):
        assert header in html


def test_list_has_filters_search_and_date_hierarchy(admin_client_, own):
    """Filters for status, priority, type and directive; a search box; the date drill-down."""
    response = admin_client_.get(CHANGELIST)
    html = response.content.decode()
    for parameter in ("status__exact=", "priority__exact=", "order_type__exact=", "directive="):
        assert parameter in html
    assert 'id="searchbar"' in html
    assert response.context["cl"].date_hierarchy == "created_at"
    assert 'class="toplinks"' in html


def test_filter_by_status_and_search(admin_client_, own, foreign):
    """status and search narrow the list."""
    Order.objects.filter(pk=foreign.pk).update(status="done")
    html = admin_client_.get(CHANGELIST, {"status__exact": "done"}).content.decode()
    assert "Mallory&#x27;s order" in html and "Sam&#x27;s order" not in html
    html = admin_client_.get(CHANGELIST, {"q": "sam"}).content.decode()
    assert "Sam&#x27;s order" in html and "Mallory&#x27;s order" not in html


def test_filter_by_directive(admin_client_, own, foreign):
    """The directive filter keeps that directive's orders."""
    html = admin_client_.get(CHANGELIST, {"directive": str(foreign.directive_id)}).content.decode()
    assert "Mallory&#x27;s order" in html and "Sam&#x27;s order" not in html


def test_malformed_directive_filter_shows_nothing(admin_client_, own):
    """A directive filter value that is not a UUID matches no order (no error page)."""
    response = admin_client_.get(CHANGELIST, {"directive": "nope"})
    assert response.status_code == 200
    assert "Sam&#x27;s order" not in response.content.decode()


def test_priority_column_sorts_by_severity(admin_client_, staff_owner, own):
    """Sorting the priority column orders low < medium < high < critical."""
    for priority in ("high", "low", "medium"):
        factories.make_order(staff_owner, own.directive, title=f"p-{priority}", priority=priority)
    response = admin_client_.get(CHANGELIST, {"o": "3"})  # list_display index of priority
    titles = [order.title for order in response.context["cl"].result_list]
    assert titles == ["p-low", "p-medium", "p-high", "Sam's order"]


def test_list_runs_no_query_per_row(admin_client_, staff_owner, own):
    """The list costs the same number of queries with 1 order or 30."""
    admin_client_.get(CHANGELIST)
    with CaptureQueriesContext(connection) as one:
        admin_client_.get(CHANGELIST)
    for index in range(29):
        directive = factories.make_directive(staff_owner) if index % 10 == 0 else own.directive
        factories.make_order(staff_owner, directive, labels=[f"l{index}"])
    with CaptureQueriesContext(connection) as thirty:
        response = admin_client_.get(CHANGELIST)
    assert len(response.context["cl"].result_list) == 30
    assert len(thirty) == len(one)


# --- bulk actions ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("action", "expected"),
    [("mark_in_progress", "in_progress"), ("mark_done", "done"), ("mark_closed", "closed")],
)
def test_bulk_status_actions(staff, staff_owner, own, action, expected):
    """Each status action sets the selected orders' status and says how many."""
    second = factories.make_order(staff_owner, own.directive)
    response = post_action(staff, action, own, second)
    assert response.status_code == 200
    assert "2 order(s) marked" in response.content.decode()
    assert set(Order.objects.values_list("status", flat=True)) == {expected}


@pytest.mark.parametrize("priority", ["low", "medium", "high", "critical"])
def test_bulk_priority_actions(staff, staff_owner, own, priority):
    """Each priority action sets the selected orders' priority."""
    Order.objects.update(priority="high" if priority != "high" else "low")
    post_action(staff, f"set_priority_{priority}", own)
    own.refresh_from_db()
    assert own.priority == priority


def test_bulk_action_never_touches_another_owners_orders(staff, own, foreign):
    """A staff owner selecting another owner's order (a forged POST) changes nothing of it."""
    post_action(staff, "mark_closed", own, foreign)
    own.refresh_from_db()
    foreign.refresh_from_db()
    assert (own.status, foreign.status) == ("closed", "open")


def test_view_only_staff_gets_no_actions(own, staff_owner):
    """Without change permission the bulk actions are not offered."""
    viewer = factories.make_owner("vera", is_staff=True)
    grant(viewer, "view_order")
    factories.make_order(viewer, factories.make_directive(viewer))
    html = login(viewer).get(CHANGELIST).content.decode()
    assert "mark_done" not in html


# --- scoping of a non-superuser staff owner ----------------------------------------------------
def test_staff_owner_sees_only_own_orders(staff, own, foreign):
    """The list shows the staff owner's orders only."""
    html = staff.get(CHANGELIST).content.decode()
    assert "Sam&#x27;s order" in html
    assert "Mallory&#x27;s order" not in html


def test_staff_owner_cannot_open_another_owners_order(staff, foreign):
    """Another owner's order page redirects to the index as if it did not exist."""
    response = staff.get(change_url(foreign))
    assert response.status_code == 302
    assert staff.post(change_url(foreign), {"title": "stolen"}).status_code == 302
    foreign.refresh_from_db()
    assert foreign.title == "Mallory's order"


def test_directive_filter_offers_only_own_directives(staff, own, foreign):
    """The directive filter lists the staff owner's directives only."""
    html = staff.get(CHANGELIST).content.decode()
    assert "Sam&#x27;s directive" in html
    assert "Mallory&#x27;s directive" not in html


def test_directive_choices_are_scoped(staff, own, foreign):
    """The add form offers only the staff owner's directives."""
    form = staff.get(ADD).context["adminform"].form
    choices = {str(value) for value, _ in form.fields["directive"].choices if value}
    assert choices == {str(own.directive_id)}


def test_superuser_sees_everything(admin_client_, own, foreign):
    """A superuser sees every owner's orders, with the owner column."""
    html = admin_client_.get(CHANGELIST).content.decode()
    assert "Sam&#x27;s order" in html and "Mallory&#x27;s order" in html
    assert "column-owner" in html


# --- the form ----------------------------------------------------------------------------------
def form_data(directive, **overrides):
    data = {
        "title": "From the admin",
        "description": "",
        "order_type": "feature",
        "status": "open",
        "priority": "high",
        "labels": "backend\n  ux  \n\n",
        "directive": str(directive.pk),
        "repository_url": "",
    }
    data.update(overrides)
    return data


def test_add_order_sets_owner_and_reads_labels_one_per_line(staff, staff_owner, own):
    """Adding in the admin stores the lines as labels and the user as owner."""
    response = staff.post(ADD, form_data(own.directive))
    assert response.status_code == 302
    order = Order.objects.get(title="From the admin")
    assert order.labels == ["backend", "ux"]
    assert order.owner == staff_owner
    assert order.description is None
    assert order.repository_url is None


@pytest.mark.parametrize(
    "labels",
    ["a\na", "x" * 51, "\n".join(f"l{i}" for i in range(21))],
)
def test_add_with_bad_labels_is_refused(staff, own, labels):
    """Duplicate, overlong or too many labels are form errors; nothing is stored."""
    response = staff.post(ADD, form_data(own.directive, labels=labels))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["labels"]
    assert not Order.objects.filter(title="From the admin").exists()


def test_add_on_another_owners_directive_is_refused(staff, foreign):
    """A forged directive id of another owner is not a valid choice."""
    response = staff.post(ADD, form_data(foreign.directive))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["directive"]
    assert not Order.objects.filter(title="From the admin").exists()


def test_change_form_shows_labels_one_per_line(staff, own):
    """The labels field shows the stored list one label per line."""
    html = staff.get(change_url(own)).content.decode()
    assert "ops\np0</textarea>" in html


def test_change_form_has_one_directive_field_and_a_plain_placeholder(staff, own):
    """The directive is one field (no read-only copy beside the select); the labels box's
    placeholder is an instruction, not example labels that look like data."""
    html = staff.get(change_url(own)).content.decode()
    assert html.count('class="form-row field-directive') == 1
    assert "field-directive_link" not in html
    assert 'placeholder="One label per line"' in html


def test_change_form_audit_fields_are_read_only(staff, staff_owner, own, task_and_key):
    """id, owner, created, updated and the filing task are shown, not editable."""
    task = factories.make_task(staff_owner, own.directive, name="scout")[0]
    Order.objects.filter(pk=own.pk).update(filed_by_task=task)
    response = staff.get(change_url(own))
    form = response.context["adminform"].form
    for name in ("id", "owner", "created_at", "updated_at", "filed_by_task"):
        assert name not in form.fields
    html = response.content.decode()
    assert "scout" in html
    assert str(own.id) in html


def test_filing_task_is_linked_when_tasks_have_an_admin(admin_client_, staff_owner, own):
    """The filing task links to its admin page when mesh registers Task in the admin."""
    from django.contrib import admin

    task = factories.make_task(staff_owner, own.directive, name="scout")[0]
    Order.objects.filter(pk=own.pk).update(filed_by_task=task)
    html = admin_client_.get(change_url(own)).content.decode()
    if admin.site.is_registered(type(task)):
        assert reverse("admin:mesh_task_change", args=[task.pk]) in html
    else:
        assert "scout" in html


def test_change_status_in_the_form(staff, own):
    """Saving the change form stores the new status and priority."""
    data = form_data(own.directive, title=own.title, status="done", priority="low")
    assert staff.post(change_url(own), data).status_code == 302
    own.refresh_from_db()
    assert (own.status, own.priority) == ("done", "low")


def test_order_filed_by_a_task_cannot_move_to_another_owner(admin_client_, staff_owner, own):
    """A superuser cannot move a task's order onto a directive of a different owner."""
    task = factories.make_task(staff_owner, own.directive)[0]
    Order.objects.filter(pk=own.pk).update(filed_by_task=task)
    elsewhere = factories.make_directive(factories.make_owner("olga"))
    response = admin_client_.post(change_url(own), form_data(elsewhere, title=own.title))
    assert response.status_code == 200
    own.refresh_from_db()
    assert own.directive_id != elsewhere.pk


# --- the inline on the directive ---------------------------------------------------------------
def _post_data_from(response) -> dict:
    """The change page's own form and inline formsets, as the browser would submit them."""
    data = {}
    form = response.context["adminform"].form
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        data[name] = "on" if value is True else value
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name in formset.management_form.fields:
            data[f"{formset.prefix}-{name}"] = formset.management_form[name].value()
        for sub in formset.forms:
            for name in sub.fields:
                value = sub[name].value()
                if value is not None and value is not False:
                    data[sub.add_prefix(name)] = "on" if value is True else value
    return data


def test_orders_appear_inline_on_their_directive(admin_client_, own):
    """The directive's page lists its orders inline, with a link to each."""
    response = admin_client_.get(
        reverse("admin:directives_directive_change", args=[own.directive_id])
    )
    html = response.content.decode()
    assert "Sam&#x27;s order" in html
    assert change_url(own) in html


def test_order_added_inline_belongs_to_the_directives_owner(admin_client_, staff_owner, own):
    """An order added in the directive's inline gets the directive's owner."""
    url = reverse("admin:directives_directive_change", args=[own.directive_id])
    data = _post_data_from(admin_client_.get(url))
    prefix = next(
        inline.formset.prefix
        for inline in admin_client_.get(url).context["inline_admin_formsets"]
        if inline.formset.model is Order
    )
    total = int(data[f"{prefix}-TOTAL_FORMS"])
    data[f"{prefix}-TOTAL_FORMS"] = str(total + 1)
    data.update(
        {
            f"{prefix}-{total}-title": "Inline order",
            f"{prefix}-{total}-order_type": "chore",
            f"{prefix}-{total}-status": "open",
            f"{prefix}-{total}-priority": "low",
            f"{prefix}-{total}-labels": "inline",
        }
    )
    response = admin_client_.post(url, data)
    assert response.status_code == 302, response.context["errors"]
    order = Order.objects.get(title="Inline order")
    assert (order.owner, order.directive, order.labels) == (staff_owner, own.directive, ["inline"])


def test_inline_hides_another_owners_orders(staff_owner, foreign):
    """A staff owner allowed on another owner's directive page still sees none of its orders."""
    grant(staff_owner, "view_directive", "change_directive", "view_order")
    client = login(staff_owner)
    response = client.get(reverse("admin:directives_directive_change", args=[foreign.directive_id]))
    assert "Mallory&#x27;s order" not in response.content.decode()
