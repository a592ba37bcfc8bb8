"""The live questions page (mesh/pages.py) and its link in the admin header."""

from django.conf import settings
from rest_framework import status

from tests import factories


def test_page_requires_login(client, db):
    """An anonymous visitor is sent to the admin login, coming back to the page after."""
    response = client.get("/questions/")
    assert response.status_code == status.HTTP_302_FOUND
    assert response["Location"] == f"{settings.LOGIN_URL}?next=/questions/"


def test_page_renders_for_owner(client, owner):
    """A logged-in owner gets the page wired to the feed socket and its static files."""
    client.force_login(owner)
    response = client.get("/questions/")
    assert response.status_code == status.HTTP_200_OK
    body = response.content.decode()
    assert "<title>Questions — Makima mesh</title>" in body
    assert 'data-socket-path="/ws/v1/mesh/questions/"' in body
    assert "mesh/questions.js" in body
    assert "mesh/questions.css" in body
    assert 'aria-live="polite"' in body


def test_page_is_get_only(client, owner):
    """The page has nothing to post to: answers travel over the websocket."""
    client.force_login(owner)
    assert client.post("/questions/").status_code == status.HTTP_405_METHOD_NOT_ALLOWED


def test_admin_header_links_to_page(client, db):
    """The admin's header links to the questions page."""
    staff = factories.make_owner("admin-owner", is_staff=True)
    client.force_login(staff)
    response = client.get("/admin/")
    assert response.status_code == status.HTTP_200_OK
    assert 'href="/questions/"' in response.content.decode()


def test_static_files_are_found():
    """The page's script and stylesheet are where the template says."""
    from django.contrib.staticfiles import finders

    assert finders.find("mesh/questions.js")
    assert finders.find("mesh/questions.css")
