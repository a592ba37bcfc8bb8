"""makima_site/wsgi.py (the bench's gunicorn comparison): Django's views, and the waiting
endpoints through the ASGI bridge."""

import io
import json
from wsgiref.util import setup_testing_defaults

import pytest

from makima_site.wsgi import application

pytestmark = pytest.mark.django_db(transaction=True)


def wsgi_call(method: str, path: str, body: bytes = b"", **headers: str) -> tuple[str, bytes]:
    environ: dict = {}
    setup_testing_defaults(environ)
    environ.update(
        REQUEST_METHOD=method,
        PATH_INFO=path,
        SERVER_NAME="testserver",
        HTTP_HOST="testserver",
        CONTENT_TYPE="application/json",
        CONTENT_LENGTH=str(len(body)),
        **{"wsgi.input": io.BytesIO(body)},
        **headers,
    )
    seen: list[str] = []
    chunks = application(environ, lambda status, headers, exc_info=None: seen.append(status))
    try:
        body = b"".join(chunks)  # a2wsgi starts the response while it is read
        return seen[0], body
    finally:
        getattr(chunks, "close", lambda: None)()


def test_django_views_are_served(owner_token):
    status, body = wsgi_call(
        "GET", "/api/v1/directives/", HTTP_AUTHORIZATION=f"Bearer {owner_token}"
    )
    assert status.startswith("200"), body


def test_a_non_blocking_ask_is_served_through_the_bridge(task_and_key):
    _, key = task_and_key
    payload = json.dumps({"question": "Deploy?", "nonBlocking": True}).encode()
    status, body = wsgi_call(
        "POST", "/api/v1/mesh/supervisor/questions", payload, HTTP_X_MAKIMA_TOOL_KEY=key
    )
    assert status.startswith("200"), body
    assert json.loads(body)["status"] == "pending"
