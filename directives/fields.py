"""The owner-scoped directive field every serializer that links a directive uses."""

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers

from directives.models import Directive


class OwnDirectiveField(serializers.PrimaryKeyRelatedField):
    """A directive id that must belong to the requesting owner (others' look nonexistent)."""

    default_error_messages = {
        "does_not_exist": "Directive {pk_value} does not exist; use one of your directives' ids.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("pk_field", serializers.UUIDField())
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet[Directive]:
        request = self.context.get("request")
        if request is None or not request.user.is_authenticated:
            return Directive.objects.none()
        return Directive.objects.filter(owner=request.user)
