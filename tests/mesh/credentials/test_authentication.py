"""Owner tokens, sessions and tool keys: who may call which endpoint family."""

import pytest
from django.utils import timezone
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from makima_site.errors import Forbidden, NotFound, Unauthorized
from mesh.credentials import services as credential_services
from mesh.credentials.authentication import ToolKeyAuthentication, task_from_tool_key
from mesh.models import ApiToken
from mesh.tasks import services as task_services
from tests import factories

OWNER_ENDPOINTS = ["/api/v1/directives/", "/api/v1/tasks/", "/api/v1/tokens/"]


class ToolKeyProbe(APIView):
    """A minimal tool-key endpoint, as the supervisor endpoints authenticate."""

    authentication_classes = [ToolKeyAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"task_id": str(request.auth.pk)})


def call_probe(**headers):
    request = APIRequestFactory().get("/probe", **headers)
    response = ToolKeyProbe.as_view()(request)
    response.render()
    return response


# --- owner endpoints ------------------------------------------------------------------------
@pytest.mark.parametrize("path", OWNER_ENDPOINTS)
def test_bearer_token_authenticates(path, owner_token):
    """`Authorization: Bearer <token>` reaches every owner endpoint."""
    client = APIClient()
    response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {owner_token}")
    assert response.status_code == status.HTTP_200_OK


@pytest.mark.parametrize("path", OWNER_ENDPOINTS)
def test_api_key_header_authenticates(path, owner_token):
    """`X-Makima-Api-Key: <token>` reaches every owner endpoint."""
    response = APIClient().get(path, HTTP_X_MAKIMA_API_KEY=owner_token)
    assert response.status_code == status.HTTP_200_OK


@pytest.mark.parametrize("path", OWNER_ENDPOINTS)
def test_no_credentials_is_401(path, db):
    """An anonymous call is 401 UNAUTHORIZED with a WWW-Authenticate challenge."""
    response = APIClient().get(path)
    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json()["code"] == "UNAUTHORIZED"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("path", OWNER_ENDPOINTS)
def test_revoked_token_is_401(path, owner):
    """A revoked token stops working at once, on every owner endpoint."""
    token, raw = credential_services.api_token_create(owner=owner)
    credential_services.api_token_revoke(token=token)
    response = APIClient().get(path, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json()["code"] == "UNAUTHORIZED"


@pytest.mark.parametrize(
    "raw",
    ["mkt_00000000_notarealsecretnotarealsecret", "garbage", "mkt_short_x", "mkt__", "x" * 500],
)
def test_unknown_token_is_401(raw, db):
    """Unknown or malformed tokens are 401 (both header forms)."""
    for headers in ({"HTTP_AUTHORIZATION": f"Bearer {raw}"}, {"HTTP_X_MAKIMA_API_KEY": raw}):
        response = APIClient().get("/api/v1/tasks/", **headers)
        assert response.status_code == status.HTTP_401_UNAUTHORIZED
        assert response.json()["code"] == "UNAUTHORIZED"


def test_token_with_its_secret_altered_is_401(owner_token):
    """A token whose prefix is right but whose secret differs is rejected."""
    forged = owner_token[:-1] + ("A" if owner_token[-1] != "A" else "B")
    response = APIClient().get("/api/v1/tasks/", HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert response.status_code == status.HTTP_401_UNAUTHORIZED


def test_token_of_inactive_owner_is_401(owner, owner_token):
    """Deactivating an owner disables their tokens."""
    owner.is_active = False
    owner.save()
    response = APIClient().get("/api/v1/tasks/", HTTP_AUTHORIZATION=f"Bearer {owner_token}")
    assert response.status_code == status.HTTP_401_UNAUTHORIZED


@pytest.mark.parametrize("path", OWNER_ENDPOINTS)
def test_tool_key_on_owner_endpoint_is_401(path, task_and_key):
    """A tool key never authenticates an owner endpoint, in any header."""
    _, key = task_and_key
    for headers in (
        {"HTTP_X_MAKIMA_TOOL_KEY": key},
        {"HTTP_AUTHORIZATION": f"Bearer {key}"},
        {"HTTP_X_MAKIMA_API_KEY": key},
    ):
        response = APIClient().get(path, **headers)
        assert response.status_code == status.HTTP_401_UNAUTHORIZED, headers
        assert response.json()["code"] == "UNAUTHORIZED"


def test_last_used_at_is_recorded(owner):
    """Using a token stamps last_used_at."""
    token, raw = credential_services.api_token_create(owner=owner)
    before = timezone.now()
    APIClient().get("/api/v1/tasks/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_at >= before


def test_token_is_stored_only_as_hash(owner):
    """The raw token appears in no column of its row."""
    token, raw = credential_services.api_token_create(owner=owner, name="ci")
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert raw not in {str(value) for value in row.values()}
    assert len(raw.split("_", 2)[2]) >= 43  # 32 random bytes, base64url


def test_session_authenticates_reads(owner):
    """A logged-in browser session reaches owner endpoints."""
    client = APIClient()
    client.force_login(owner)
    assert client.get("/api/v1/tasks/").status_code == status.HTTP_200_OK


def test_session_write_without_csrf_is_403(owner):
    """A session write without the CSRF token is refused in the contract's shape."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post("/api/v1/directives/", {"title": "x"}, format="json")
    assert response.status_code == status.HTTP_403_FORBIDDEN
    assert response.json()["code"] == "FORBIDDEN"


# --- tool-key endpoints ---------------------------------------------------------------------
def test_tool_key_authenticates_tool_endpoint(task_and_key):
    """The task's current key reaches a tool-key endpoint; request.auth is the task."""
    task, key = task_and_key
    response = call_probe(HTTP_X_MAKIMA_TOOL_KEY=key)
    assert response.status_code == status.HTTP_200_OK
    assert response.data == {"task_id": str(task.pk)}


@pytest.mark.parametrize("header", ["HTTP_AUTHORIZATION", "HTTP_X_MAKIMA_API_KEY"])
def test_owner_token_on_tool_endpoint_is_401(header, owner_token, task_and_key):
    """An owner token never authenticates a tool-key endpoint."""
    value = f"Bearer {owner_token}" if header == "HTTP_AUTHORIZATION" else owner_token
    response = call_probe(**{header: value})
    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.data["code"] == "UNAUTHORIZED"


def test_owner_token_in_tool_key_header_is_401(owner_token, task_and_key):
    """An owner token sent as a tool key is not a tool key."""
    response = call_probe(HTTP_X_MAKIMA_TOOL_KEY=owner_token)
    assert response.status_code == status.HTTP_401_UNAUTHORIZED


def test_rotated_tool_key_is_401(task_and_key):
    """Rotation invalidates the old key at once; the new one works."""
    task, old_key = task_and_key
    new_key = task_services.task_rotate_tool_key(task=task)
    assert call_probe(HTTP_X_MAKIMA_TOOL_KEY=old_key).status_code == status.HTTP_401_UNAUTHORIZED
    assert call_probe(HTTP_X_MAKIMA_TOOL_KEY=new_key).status_code == status.HTTP_200_OK


@pytest.mark.parametrize("raw", ["mtk_00000000_nosuchkeynosuchkey", "nonsense", ""])
def test_unknown_tool_key_is_401(raw, db):
    """Unknown, malformed or empty tool keys are 401."""
    with pytest.raises(Unauthorized):
        task_from_tool_key(raw)


def test_tool_key_of_deleted_task_is_404(task_and_key):
    """The key of a deleted task answers 404 NOT_FOUND ("task gone"), as the reference."""
    task, key = task_and_key
    task_services.task_delete(task=task)
    with pytest.raises(NotFound):
        task_from_tool_key(key)
    response = call_probe(HTTP_X_MAKIMA_TOOL_KEY=key)
    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response.data["code"] == "NOT_FOUND"


def test_tool_key_of_task_without_directive_is_403(owner):
    """A task without a directive is refused with 403 NOT_DIRECTIVE_TASK."""
    _, key = factories.make_task(owner, directive=None)
    with pytest.raises(Forbidden) as caught:
        task_from_tool_key(key)
    assert caught.value.code == "NOT_DIRECTIVE_TASK"
    response = call_probe(HTTP_X_MAKIMA_TOOL_KEY=key)
    assert response.status_code == status.HTTP_403_FORBIDDEN
    assert response.data["code"] == "NOT_DIRECTIVE_TASK"


def test_session_on_tool_endpoint_is_401(owner, task_and_key):
    """A logged-in owner's session does not authenticate a tool-key endpoint."""
    request = APIRequestFactory().get("/probe")
    request.user = owner
    request._dont_enforce_csrf_checks = True
    response = ToolKeyProbe.as_view()(request)
    assert response.status_code == status.HTTP_401_UNAUTHORIZED
