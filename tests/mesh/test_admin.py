"""The admin: tokens (revoke), directives (tasks inline), tasks (rotate key), users (tokens
inline). No hash is ever shown; list pages run a fixed number of queries."""

import re

import pytest
from django.contrib.messages import get_messages

from makima_site.errors import NotFound, Unauthorized
from mesh.credentials import services as credential_services
from mesh.credentials.authentication import owner_from_token, task_from_tool_key
from mesh.models import ApiToken, Task
from tests import factories


@pytest.fixture
def admin_client(client, db):
    staff = factories.make_owner("root")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    return client


@pytest.fixture
def many_rows(db):
    """Rows across several owners, so an N+1 would show in the query count."""
    for index in range(8):
        owner = factories.make_owner(f"o{index}")
        directive = factories.make_directive(owner)
        factories.make_task(owner, directive)
        factories.make_task(owner)
        credential_services.api_token_create(owner=owner, name=f"t{index}")


@pytest.mark.parametrize(
    "url",
    [
        "/admin/mesh/apitoken/",
        "/admin/mesh/task/",
        "/admin/directives/directive/",
        "/admin/auth/user/",
    ],
)
def test_list_pages_run_a_fixed_number_of_queries(
    admin_client, many_rows, url, django_assert_max_num_queries
):
    """Changelists do not run a query per row."""
    with django_assert_max_num_queries(10):
        assert admin_client.get(url).status_code == 200


def test_pages_never_show_hashes(admin_client, owner, directive):
    """Token and tool-key hashes appear on no admin page."""
    token, _ = credential_services.api_token_create(owner=owner)
    task, _ = factories.make_task(owner, directive)
    pages = [
        "/admin/mesh/apitoken/",
        f"/admin/mesh/apitoken/{token.pk}/change/",
        "/admin/mesh/task/",
        f"/admin/mesh/task/{task.pk}/change/",
        f"/admin/directives/directive/{directive.pk}/change/",
        f"/admin/auth/user/{owner.pk}/change/",
    ]
    for page in pages:
        html = admin_client.get(page).content.decode()
        assert token.token_hash not in html and task.tool_key_hash not in html, page


def test_revoke_action(admin_client, owner):
    """The revoke action revokes the selected tokens."""
    token, raw = credential_services.api_token_create(owner=owner)
    response = admin_client.post(
        "/admin/mesh/apitoken/", {"action": "revoke", "_selected_action": [str(token.pk)]}
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    with pytest.raises(Unauthorized):
        owner_from_token(raw)


def test_tokens_cannot_be_deleted_in_admin(admin_client, owner):
    """Tokens are revoked, not deleted (the record stays for audit)."""
    token, _ = credential_services.api_token_create(owner=owner)
    response = admin_client.get(f"/admin/mesh/apitoken/{token.pk}/delete/")
    assert response.status_code == 403


def test_add_token_shows_it_once(admin_client, owner):
    """Adding a token in the admin issues it through the service and shows it in a message."""
    response = admin_client.post("/admin/mesh/apitoken/add/", {"owner": owner.pk, "name": "ui"})
    assert response.status_code == 302
    shown = [str(message) for message in get_messages(response.wsgi_request)]
    raw = re.search(r"mkt_\w+_[\w-]+", " ".join(shown)).group(0)
    assert owner_from_token(raw)[1].name == "ui"


def test_rotate_key_action_shows_new_key_once(admin_client, owner, directive):
    """Rotating in the admin shows the new key in a message; the old key stops working."""
    task, old_key = factories.make_task(owner, directive)
    response = admin_client.post(
        "/admin/mesh/task/",
        {"action": "rotate_tool_key", "_selected_action": [str(task.pk)]},
        follow=True,
    )
    html = response.content.decode()
    new_key = re.search(r"mtk_\w+_[\w-]+", html).group(0)
    assert task_from_tool_key(new_key).pk == task.pk
    with pytest.raises(Unauthorized):
        task_from_tool_key(old_key)
    assert new_key not in admin_client.get("/admin/mesh/task/").content.decode()


def test_add_task_issues_a_key(admin_client, owner, directive):
    """Adding a task in the admin gives it a tool key, shown once."""
    response = admin_client.post(
        "/admin/mesh/task/add/",
        {"owner": owner.pk, "name": "from-admin", "directive": directive.pk, "status": "pending"},
        follow=True,
    )
    assert response.status_code == 200
    key = re.search(r"mtk_\w+_[\w-]+", response.content.decode()).group(0)
    assert task_from_tool_key(key).name == "from-admin"


def test_add_task_with_other_owners_directive_is_refused(admin_client, owner, other_owner):
    """The admin form refuses a directive of another owner."""
    theirs = factories.make_directive(other_owner)
    response = admin_client.post(
        "/admin/mesh/task/add/",
        {"owner": owner.pk, "name": "x", "directive": theirs.pk, "status": "pending"},
    )
    assert response.status_code == 200  # the form again, with the error
    assert not Task.objects.filter(name="x").exists()


def test_delete_task_in_admin_retires_its_key(admin_client, owner, directive):
    """Deleting a task in the admin goes through the service: its key then means "task gone"."""
    task, key = factories.make_task(owner, directive)
    admin_client.post(f"/admin/mesh/task/{task.pk}/delete/", {"post": "yes"})
    assert not Task.objects.filter(pk=task.pk).exists()
    with pytest.raises(NotFound):
        task_from_tool_key(key)


def test_directive_page_lists_its_tasks_inline(admin_client, owner, directive):
    """The directive's change page shows its tasks."""
    task, _ = factories.make_task(owner, directive, name="inline-task")
    html = admin_client.get(f"/admin/directives/directive/{directive.pk}/change/").content.decode()
    assert "inline-task" in html and str(task.pk) in html


def test_user_page_lists_tokens_inline(admin_client, owner):
    """The user's change page shows their tokens (metadata only)."""
    token, _ = credential_services.api_token_create(owner=owner, name="inline-token")
    html = admin_client.get(f"/admin/auth/user/{owner.pk}/change/").content.decode()
    assert "inline-token" in html and token.prefix in html
    assert ApiToken.objects.count() == 1
