"""A non-superuser staff owner in the admin of a real daphne, over real HTTP: every admin
(directives, tasks, tokens, orders) lists, opens, edits and acts on their own rows only,
offers only their own choices, and makes tokens only for themselves
(makima_site.admin.OwnerScopedAdmin)."""

import re
from html.parser import HTMLParser

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Permission

from directives.models import Directive
from mesh.models import ApiToken, Task
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

PBKDF2 = "django.contrib.auth.hashers.PBKDF2PasswordHasher"
MODELS = {
    "directives/directive": "directive",
    "mesh/task": "task",
    "mesh/apitoken": "apitoken",
    "orders/order": "order",
}


class _FormFields(HTMLParser):
    """The name → value pairs a browser would submit from a page's forms."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        name = attributes.get("name")
        if tag == "input" and name:
            if attributes.get("type") in ("checkbox", "radio") and "checked" not in attributes:
                return
            if attributes.get("type") not in ("submit", "button"):
                self.fields[name] = attributes.get("value") or ""
        elif tag == "select" and name:
            self._select = name
            self.fields.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in attributes:
            self.fields[self._select] = attributes.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data


def form_fields(html: str) -> dict[str, str]:
    parser = _FormFields()
    parser.feed(html)
    return parser.fields


@pytest.fixture
def people(settings):
    """sam: staff with every permission on the four models, not a superuser; mallory: another
    owner with a directive, a task, a token and an order; root: a superuser."""
    settings.PASSWORD_HASHERS = [*settings.PASSWORD_HASHERS, PBKDF2]
    sam = factories.make_owner("sam", is_staff=True)
    sam.password = make_password("sam-password", hasher="pbkdf2_sha256")
    sam.save()
    sam.user_permissions.add(*Permission.objects.filter(content_type__model__in=MODELS.values()))
    mallory = factories.make_owner("mallory")
    root = get_user_model().objects.create_superuser("root", "", "root-password")
    theirs = factories.make_directive(mallory, title="Mallory's directive")
    their_task, _ = factories.make_task(mallory, theirs, name="mallory-task")
    factories.make_token(mallory, name="mallory-token")
    factories.make_order(mallory, theirs, title="Mallory's order")
    mine = factories.make_directive(sam, title="Sam's directive")
    my_task, _ = factories.make_task(sam, mine, name="sam-task")
    factories.make_token(sam, name="sam-token")
    factories.make_order(sam, mine, title="Sam's order")
    return {
        "sam": sam,
        "mallory": mallory,
        "root": root,
        "their_directive": theirs,
        "their_task": their_task,
        "my_directive": mine,
        "my_task": my_task,
    }


@pytest.fixture
def staff(people, daphne_servers):
    """An httpx client logged in to the admin of a real daphne as sam."""
    server = daphne_servers("admin-scoping")
    client = httpx.Client(base_url=server.base_url, timeout=20, follow_redirects=False)
    client.get("/admin/login/")
    login = client.post(
        "/admin/login/",
        data={
            "username": "sam",
            "password": "sam-password",
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
            "next": "/admin/",
        },
        headers={"Referer": f"{server.base_url}/admin/login/"},
    )
    assert login.status_code == 302, login.text
    client.headers["Referer"] = f"{server.base_url}/admin/"
    yield client
    client.close()


def _post(client: httpx.Client, path: str, data: dict[str, str | list[str]]) -> httpx.Response:
    return client.post(path, data={**data, "csrfmiddlewaretoken": client.cookies["csrftoken"]})


def test_lists_show_only_own_rows_and_foreign_ones_are_404(staff, people):
    """Each of the four lists shows sam's rows, none of mallory's; mallory's rows are 404
    to open, edit or delete."""
    for model in MODELS:
        page = staff.get(f"/admin/{model}/")
        assert page.status_code == 200
        assert "sam" in page.text.lower(), model
        assert "mallory" not in page.text.lower(), model
    task = people["their_task"]
    for path in (f"/admin/mesh/task/{task.pk}/change/", f"/admin/mesh/task/{task.pk}/delete/"):
        assert staff.get(path).status_code == 404
    assert _post(staff, f"/admin/mesh/task/{task.pk}/change/", {"name": "mine"}).status_code == 404
    directive = people["their_directive"]
    assert staff.get(f"/admin/directives/directive/{directive.pk}/change/").status_code == 404
    task.refresh_from_db()
    assert task.name == "mallory-task"


def test_rotating_another_owners_tool_key_is_impossible(staff, people):
    """The action posted with another owner's task (alone or beside an own one) is 404, and
    neither key changes nor is any key shown; an own key still rotates."""
    theirs, mine = people["their_task"], people["my_task"]
    before = {theirs.pk: theirs.tool_key_hash, mine.pk: mine.tool_key_hash}
    for selected in ([str(theirs.pk)], [str(mine.pk), str(theirs.pk)]):
        reply = _post(
            staff,
            "/admin/mesh/task/",
            {"action": "rotate_tool_key", "_selected_action": selected},
        )
        assert reply.status_code == 404
        assert "mtk_" not in reply.text
    after = {task.pk: task.tool_key_hash for task in Task.objects.filter(pk__in=before)}
    assert after == before

    # An own key still rotates.
    reply = _post(
        staff,
        "/admin/mesh/task/",
        {"action": "rotate_tool_key", "_selected_action": [str(mine.pk)]},
    )
    assert reply.status_code == 302
    assert Task.objects.get(pk=mine.pk).tool_key_hash != mine.tool_key_hash


def test_tokens_and_foreign_keys_are_the_staff_owners_own(staff, people):
    """A token is made for sam whatever owner is posted (a superuser, here); the directive
    of a new task: another owner's is refused by the form, and the autocomplete lists only
    sam's; a new directive is sam's whatever owner is posted."""
    page = staff.get("/admin/mesh/apitoken/add/")
    assert page.status_code == 200
    assert 'name="owner"' not in page.text
    data = {**form_fields(page.text), "name": "forged", "owner": str(people["root"].pk)}
    reply = _post(staff, "/admin/mesh/apitoken/add/", data)
    assert reply.status_code == 302, reply.text
    token = ApiToken.objects.get(name="forged")
    assert token.owner_id == people["sam"].pk
    assert not ApiToken.objects.filter(owner=people["root"]).exists()

    page = staff.get("/admin/mesh/task/add/")
    data = {**form_fields(page.text), "name": "sneaky", "status": "active"}
    data["directive"] = str(people["their_directive"].pk)
    reply = _post(staff, "/admin/mesh/task/add/", data)
    assert reply.status_code == 200  # the form again, with the error
    assert "Select a valid choice" in reply.text
    assert not Task.objects.filter(name="sneaky").exists()

    found = staff.get(
        "/admin/autocomplete/",
        params={"app_label": "mesh", "model_name": "task", "field_name": "directive", "term": ""},
    )
    assert found.status_code == 200
    assert {result["text"] for result in found.json()["results"]} == {"Sam's directive"}

    page = staff.get("/admin/directives/directive/add/")
    data = {**form_fields(page.text), "title": "Forged", "owner": str(people["mallory"].pk)}
    reply = _post(staff, "/admin/directives/directive/add/", data)
    assert reply.status_code == 302, re.sub(r"\s+", " ", reply.text)[-3000:]
    assert Directive.objects.get(title="Forged").owner_id == people["sam"].pk
