"""Reads of API tokens, scoped to their owner."""

from django.contrib.auth.models import User
from django.db.models import QuerySet

from mesh.models import ApiToken


def api_token_list(*, owner: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(owner=owner)
