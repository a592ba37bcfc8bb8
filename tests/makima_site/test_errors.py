"""The error contract: every error body is {"code": "UPPER_SNAKE", "message": "..."}, plus
camelCase `details` for field errors, and never a stack trace."""

import json
import re

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework import status
from rest_framework.test import APIClient

pytestmark = pytest.mark.urls("tests.makima_site.error_urls")


def assert_error_shape(response, code: str, *, details: bool = False) -> dict:
    body = response.json()
    assert body["code"] == code
    assert re.fullmatch(r"[A-Z][A-Z_]*", body["code"])
    assert isinstance(body["message"], str) and body["message"]
    assert set(body) == ({"code", "message", "details"} if details else {"code", "message"})
    assert "Traceback" not in response.content.decode()
    return body


def test_validation_error_has_camel_case_details(api):
    """400 VALIDATION_ERROR: details maps camelCase fields to lists of messages."""
    response = api.post(
        "/api/v1/directives/", {"title": "", "reconcileMode": "nope"}, format="json"
    )
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    body = assert_error_shape(response, "VALIDATION_ERROR", details=True)
    assert set(body["details"]) == {"title", "reconcileMode"}
    assert all(isinstance(m, str) for messages in body["details"].values() for m in messages)
    assert body["message"].startswith(("title", "reconcileMode"))


def test_non_object_body_is_a_validation_error(api):
    """A JSON body that is not an object is a 400 with nonFieldErrors."""
    response = api.post("/api/v1/directives/", [1, 2], format="json")
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    body = assert_error_shape(response, "VALIDATION_ERROR", details=True)
    assert "nonFieldErrors" in body["details"]


def test_unauthenticated_is_401(db):
    """401 UNAUTHORIZED."""
    response = APIClient().get("/api/v1/directives/")
    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert_error_shape(response, "UNAUTHORIZED")


def test_forbidden_is_403(db):
    """403 in the contract's shape (an ApplicationError raised by a view)."""
    response = APIClient().get("/test/forbidden")
    assert response.status_code == status.HTTP_403_FORBIDDEN
    assert_error_shape(response, "FORBIDDEN")


def test_csrf_failure_is_403(owner):
    """DRF's own PermissionDenied (a session write without CSRF) is 403 FORBIDDEN."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post("/api/v1/tokens/", {}, format="json")
    assert response.status_code == status.HTTP_403_FORBIDDEN
    assert_error_shape(response, "FORBIDDEN")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nothing-here/",
        "/nothing-here",
        "/api/v1/tasks/not-a-uuid/",
        "/api/v1/directives/12345/",
        "/api/v1/tokens/00000000-0000-0000-0000-000000000000/",
        "/api/v1/tasks/?page=99",
    ],
)
def test_not_found_is_404(api, path):
    """404 NOT_FOUND for unknown URLs, non-UUID ids, unknown ids and pages past the end."""
    response = api.get(path)
    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert_error_shape(response, "NOT_FOUND")


def test_method_not_allowed_is_405(api):
    """405 METHOD_NOT_ALLOWED, on DRF views and on /healthz."""
    response = api.put("/api/v1/tokens/", {}, format="json")
    assert response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED
    assert_error_shape(response, "METHOD_NOT_ALLOWED")
    response = api.post("/healthz")
    assert response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED
    assert_error_shape(response, "METHOD_NOT_ALLOWED")


def test_unsupported_media_type_is_415(api):
    """415 UNSUPPORTED_MEDIA_TYPE for a body that is not JSON."""
    response = api.post("/api/v1/directives/", "title=x", content_type="text/plain")
    assert response.status_code == status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    assert_error_shape(response, "UNSUPPORTED_MEDIA_TYPE")


def test_malformed_json_is_400(api):
    """400 MALFORMED_REQUEST for a body that does not parse; nothing is created."""
    response = api.post("/api/v1/directives/", '{"title": ', content_type="application/json")
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert_error_shape(response, "MALFORMED_REQUEST")


def test_json_nested_deeper_than_the_parser_is_400(api):
    """400 VALIDATION_ERROR, not a 500, for JSON nested deeper than the parser's stack (too
    deep to tell whether it would have parsed: too deep either way)."""
    response = api.post("/api/v1/directives/", "[" * 100_000, content_type="application/json")
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert_error_shape(response, "VALIDATION_ERROR", details=True)


def test_body_over_one_mib_is_413(api):
    """413 PAYLOAD_TOO_LARGE for a body over 1 MiB."""
    body = '{"title": "' + "x" * (1024 * 1024) + '"}'
    response = api.post("/api/v1/directives/", body, content_type="application/json")
    assert response.status_code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    assert_error_shape(response, "PAYLOAD_TOO_LARGE")


def test_body_of_exactly_one_mib_is_not_refused_for_size(api):
    """The limit is "over 1 MiB": a body of exactly 1 MiB reaches validation."""
    prefix, suffix = '{"title": "', '"}'
    body = prefix + "x" * (1024 * 1024 - len(prefix) - len(suffix)) + suffix
    response = api.post("/api/v1/directives/", body, content_type="application/json")
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert_error_shape(response, "VALIDATION_ERROR", details=True)


def test_throttled_is_429(db):
    """429 THROTTLED, with Retry-After."""
    cache.clear()
    client = APIClient()
    assert client.get("/test/throttled").status_code == status.HTTP_200_OK
    response = client.get("/test/throttled")
    assert response.status_code == status.HTTP_429_TOO_MANY_REQUESTS
    assert_error_shape(response, "THROTTLED")
    assert int(response.headers["Retry-After"]) > 0


def test_api_crash_is_500_without_details(db, settings):
    """An unhandled error in an API view is 500 INTERNAL_ERROR with no internals."""
    settings.DEBUG = False
    response = APIClient().get("/test/crash-api")
    assert response.status_code == status.HTTP_500_INTERNAL_SERVER_ERROR
    assert_error_shape(response, "INTERNAL_ERROR")
    assert "hunter2" not in response.content.decode()


def test_django_crash_is_500_without_details(db, settings):
    """An unhandled error outside DRF is 500 INTERNAL_ERROR with no stack trace."""
    settings.DEBUG = False
    response = Client(raise_request_exception=False).get("/test/crash-django")
    assert response.status_code == status.HTTP_500_INTERNAL_SERVER_ERROR
    assert_error_shape(response, "INTERNAL_ERROR")
    assert "hunter2" not in response.content.decode()


def test_disallowed_host_is_400(db):
    """A request for a host the site does not serve is 400 BAD_REQUEST."""
    response = Client().get("/healthz", HTTP_HOST="evil.example")
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert_error_shape(response, "BAD_REQUEST")


async def test_chunked_body_over_one_mib_is_413():
    """A body without Content-Length (chunked) is measured too: over 1 MiB is 413."""
    from asgiref.testing import ApplicationCommunicator
    from django.core.asgi import get_asgi_application

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/directives/",
        "raw_path": b"/api/v1/directives/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 80),
    }
    communicator = ApplicationCommunicator(get_asgi_application(), scope)
    chunk = b"x" * (256 * 1024)
    for _ in range(5):
        await communicator.send_input({"type": "http.request", "body": chunk, "more_body": True})
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(5)
    body = await communicator.receive_output(5)
    assert start["status"] == 413
    assert json.loads(body["body"])["code"] == "PAYLOAD_TOO_LARGE"


def test_not_acceptable_is_406(api):
    """406 NOT_ACCEPTABLE when the Accept header asks for something other than JSON."""
    response = api.get("/api/v1/tasks/", HTTP_ACCEPT="application/xml")
    assert response.status_code == status.HTTP_406_NOT_ACCEPTABLE
    assert response.json()["code"] == "NOT_ACCEPTABLE"
