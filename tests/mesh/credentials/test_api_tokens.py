"""/api/v1/tokens/: an owner lists, creates and revokes their personal API tokens."""

from rest_framework import status
from rest_framework.test import APIClient

from mesh.credentials import services as credential_services
from mesh.models import ApiToken


def test_create_returns_raw_token_once(api, owner):
    """The create response holds the raw token; it authenticates; list and get never show it."""
    created = api.post("/api/v1/tokens/", {"name": "laptop"}, format="json")
    assert created.status_code == status.HTTP_201_CREATED
    body = created.json()
    assert body["name"] == "laptop"
    assert body["token"].startswith(f"mkt_{body['prefix']}_")
    fresh = APIClient().get("/api/v1/tasks/", HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert fresh.status_code == status.HTTP_200_OK
    listed = api.get("/api/v1/tokens/").json()["results"]
    fetched = api.get(f"/api/v1/tokens/{body['id']}/").json()
    for item in [*listed, fetched]:
        assert "token" not in item and "tokenHash" not in item
        assert body["token"] not in str(item)


def test_list_shows_own_tokens_only(api, owner, other_owner):
    """The list holds the caller's tokens (metadata only), never another owner's."""
    credential_services.api_token_create(owner=owner, name="mine")
    credential_services.api_token_create(owner=other_owner, name="theirs")
    names = {item["name"] for item in api.get("/api/v1/tokens/").json()["results"]}
    assert "mine" in names and "theirs" not in names
    item = api.get("/api/v1/tokens/").json()["results"][0]
    assert set(item) == {"id", "name", "prefix", "createdAt", "lastUsedAt", "revokedAt"}


def test_delete_revokes(api, owner):
    """DELETE revokes the token (204); it stops working and stays listed as revoked."""
    token, raw = credential_services.api_token_create(owner=owner, name="old")
    assert api.delete(f"/api/v1/tokens/{token.id}/").status_code == status.HTTP_204_NO_CONTENT
    response = APIClient().get("/api/v1/tasks/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert api.get(f"/api/v1/tokens/{token.id}/").json()["revokedAt"] is not None


def test_revoke_action_returns_the_revoked_token(api, owner):
    """POST .../revoke/ revokes and returns the token's metadata with revokedAt set."""
    token, _ = credential_services.api_token_create(owner=owner)
    response = api.post(f"/api/v1/tokens/{token.id}/revoke/")
    assert response.status_code == status.HTTP_200_OK
    assert response.json()["revokedAt"] is not None


def test_revoking_twice_keeps_the_first_time(api, owner):
    """Revoking an already revoked token changes nothing."""
    token, _ = credential_services.api_token_create(owner=owner)
    first = api.post(f"/api/v1/tokens/{token.id}/revoke/").json()["revokedAt"]
    second = api.post(f"/api/v1/tokens/{token.id}/revoke/").json()["revokedAt"]
    assert first == second


def test_a_token_can_revoke_itself(owner):
    """Revoking the token in use works, and the next call with it is 401."""
    token, raw = credential_services.api_token_create(owner=owner)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.delete(f"/api/v1/tokens/{token.id}/").status_code == status.HTTP_204_NO_CONTENT
    assert client.get("/api/v1/tokens/").status_code == status.HTTP_401_UNAUTHORIZED


def test_other_owners_token_is_404(api, other_owner):
    """Another owner's token cannot be read or revoked: 404, and it keeps working."""
    token, raw = credential_services.api_token_create(owner=other_owner)
    assert api.get(f"/api/v1/tokens/{token.id}/").status_code == status.HTTP_404_NOT_FOUND
    assert api.delete(f"/api/v1/tokens/{token.id}/").status_code == status.HTTP_404_NOT_FOUND
    assert api.post(f"/api/v1/tokens/{token.id}/revoke/").status_code == status.HTTP_404_NOT_FOUND
    token.refresh_from_db()
    assert token.revoked_at is None


def test_name_too_long_is_400(api, owner):
    """A name over 100 characters is a validation error and creates nothing."""
    before = ApiToken.objects.count()
    response = api.post("/api/v1/tokens/", {"name": "n" * 101}, format="json")
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert "name" in response.json()["details"]
    assert ApiToken.objects.count() == before


def test_tokens_cannot_be_edited(api, owner):
    """PUT/PATCH are not offered (405): a token's identity never changes."""
    token, _ = credential_services.api_token_create(owner=owner)
    response = api.patch(f"/api/v1/tokens/{token.id}/", {"name": "x"}, format="json")
    assert response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED


def test_list_query_count_is_constant(api, owner, django_assert_max_num_queries):
    """Listing many tokens does not run a query per token."""
    for index in range(30):
        credential_services.api_token_create(owner=owner, name=f"t{index}")
    with django_assert_max_num_queries(4):
        assert api.get("/api/v1/tokens/").status_code == status.HTTP_200_OK
