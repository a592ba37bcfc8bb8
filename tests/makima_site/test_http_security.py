"""CSRF on session-authenticated writes, the websocket's Origin check, and the production
settings: security headers with DEBUG off and `manage.py check --deploy` clean."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from channels.testing import WebsocketCommunicator
from rest_framework.test import APIClient

from directives.models import Directive
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
FEED_PATH = "/ws/v1/mesh/questions/"


# --- CSRF -----------------------------------------------------------------------------------
@pytest.fixture
def session_client(owner):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(owner)
    return client


def test_session_write_without_csrf_token_is_403_in_the_error_shape(session_client, owner):
    """A logged-in browser's POST without the CSRF token is refused and creates nothing."""
    response = session_client.post("/api/v1/directives/", {"title": "x"}, format="json")
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "FORBIDDEN"
    assert "CSRF" in body["message"]
    assert not Directive.objects.filter(owner=owner).exists()


def test_session_delete_without_csrf_token_changes_nothing(session_client, owner):
    """DELETE is an unsafe method too."""
    directive = factories.make_directive(owner)
    response = session_client.delete(f"/api/v1/directives/{directive.id}/")
    assert response.status_code == 403
    assert Directive.objects.filter(pk=directive.pk).exists()


def test_session_write_with_the_csrf_token_succeeds(session_client):
    """With the cookie's token echoed in X-CSRFToken the same write goes through."""
    session_client.get("/admin/login/")
    token = session_client.cookies["csrftoken"].value
    response = session_client.post(
        "/api/v1/directives/", {"title": "x"}, format="json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 201


def test_session_reads_need_no_csrf_token(session_client):
    """Safe methods are not CSRF-checked."""
    assert session_client.get("/api/v1/directives/").status_code == 200


def test_token_writes_need_no_csrf_token(owner_token):
    """An API token is not ambient authority: no CSRF token needed."""
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {owner_token}")
    assert client.post("/api/v1/directives/", {"title": "x"}, format="json").status_code == 201


# --- websocket Origin -----------------------------------------------------------------------
@pytest.mark.parametrize("origin", [b"https://evil.example", b"null", b"http://localhost.evil"])
async def test_the_websocket_refuses_a_foreign_origin(origin):
    """A page on another site cannot open the owner's feed with the owner's cookies."""
    from makima_site.asgi import application

    communicator = WebsocketCommunicator(
        application, FEED_PATH, headers=[(b"origin", origin), (b"host", b"localhost")]
    )
    connected, _ = await communicator.connect()
    assert not connected
    await communicator.disconnect()


# --- production settings --------------------------------------------------------------------
def production_env(tmp_path) -> dict[str, str]:
    """The production settings docs/configuration.md gives: DEBUG off, a long random
    SECRET_KEY, hosts."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "CSRF_", "SECURE_"))
    }
    env.update(
        {
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "mesh.example.com",
            "CSRF_TRUSTED_ORIGINS": "https://mesh.example.com",
            "DJANGO_SETTINGS_MODULE": "makima_site.settings",
        }
    )
    if not env.get("DATABASE_URL"):
        env["SQLITE_PATH"] = str(tmp_path / "db.sqlite3")
    return env


def test_check_deploy_passes_with_the_production_settings(tmp_path):
    """`manage.py check --deploy --fail-level WARNING` finds nothing to warn about."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


HEADERS_PROBE = """
import json
import django
django.setup()
from django.test import Client

client = Client(HTTP_HOST="mesh.example.com")
plain = client.get("/api/v1/tasks/")
secure = client.get("/api/v1/tasks/", secure=True)
from django.conf import settings
print(json.dumps({
    "plain": [plain.status_code, plain.headers.get("Location")],
    "secure": [secure.status_code, dict(secure.headers)],
    "cookies": {
        "session_secure": settings.SESSION_COOKIE_SECURE,
        "session_httponly": settings.SESSION_COOKIE_HTTPONLY,
        "csrf_secure": settings.CSRF_COOKIE_SECURE,
    },
}))
"""


@pytest.fixture(scope="module")
def production_responses(tmp_path_factory):
    result = subprocess.run(
        [sys.executable, "-c", HEADERS_PROBE],
        cwd=ROOT,
        env=production_env(tmp_path_factory.mktemp("prod")),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_with_debug_off_plain_http_redirects_to_https(production_responses):
    """SECURE_SSL_REDIRECT: an http:// request is sent to https://."""
    status, location = production_responses["plain"]
    assert status == 301
    assert location == "https://mesh.example.com/api/v1/tasks/"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Strict-Transport-Security", "max-age=31536000; includeSubDomains; preload"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ],
)
def test_with_debug_off_responses_carry_the_security_headers(
    production_responses, header, expected
):
    """Every HTTPS response (here a 401) carries the security headers."""
    status, headers = production_responses["secure"]
    assert status == 401
    assert headers.get(header) == expected


def test_with_debug_off_cookies_only_travel_over_https(production_responses):
    """The session and CSRF cookies are Secure; the session cookie is HttpOnly."""
    assert production_responses["cookies"] == {
        "session_secure": True,
        "session_httponly": True,
        "csrf_secure": True,
    }
