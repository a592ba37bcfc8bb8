"""Writes of owner API tokens. The raw token exists only in the return value of its creation."""

from functools import partial

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from mesh.credentials import hashing
from mesh.credentials.events import publish_credential_revoked
from mesh.events.groups import token_group
from mesh.models import ApiToken


@transaction.atomic
def api_token_create(*, owner: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a token; the raw value is returned here once and never stored."""
    issued = hashing.issue_secret(hashing.API_TOKEN_KIND)
    token = ApiToken.objects.create(
        owner=owner, name=name, prefix=issued.prefix, token_hash=issued.digest
    )
    return token, issued.raw


@transaction.atomic
def api_token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        transaction.on_commit(partial(publish_credential_revoked, token_group(token.pk)))
    return token
