"""With DEBUG on (a real daphne, as `make run` serves), an unknown URL under /api/ answers
404 NOT_FOUND in the error shape, not Django's HTML debug page; outside /api/ Django's
behaviour stays, and APPEND_SLASH still redirects."""

import httpx
import pytest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(module_daphne):
    return module_daphne("debug-404", DEBUG="true")


@pytest.mark.parametrize(
    "path", ["/api/v1/nothing-here", "/api/v1/mesh/nope/", "/api/elsewhere", "/api/"]
)
def test_unknown_api_url_is_json_404_with_debug_on(server, path):
    """404 {"code": "NOT_FOUND", "message": …} as JSON (on main: the HTML debug page)."""
    response = httpx.get(server.base_url + path, timeout=10)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json()["code"] == "NOT_FOUND"
    assert set(response.json()) == {"code", "message"}


def test_unknown_url_outside_the_api_keeps_django_debug_page(server):
    """Outside /api/ DEBUG's HTML 404 page stays."""
    response = httpx.get(server.base_url + "/nothing-here/", timeout=10)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")


def test_append_slash_still_redirects_under_the_api(server):
    """GET /api/v1/directives (no slash) still redirects to the slashed URL."""
    response = httpx.get(server.base_url + "/api/v1/directives", timeout=10)
    assert response.status_code == 301
    assert response.headers["location"] == "/api/v1/directives/"
