"""The owner-scoped viewset every owner resource (directives, tasks, tokens, orders) uses."""

from typing import Any

from django.contrib.auth.models import User
from django.db.models import Model, QuerySet
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.viewsets import GenericViewSet


class OwnerScopedViewSet(GenericViewSet):
    """Reads through a selector scoped to request.user (another owner's rows are 404) and
    writes through the app's services, never the serializer's save().

    Put it FIRST in a viewset's bases, before DRF's mixins (or ModelViewSet): the mixins
    decide which operations exist, and their create/update/destroy call the perform_* hooks,
    which must be these (the mixins' own would save through the serializer). They hand the
    validated data to the hooks a subclass defines (list_for_owner, create_for_owner,
    update_row, delete_row).
    """

    def list_for_owner(self, owner: Any) -> QuerySet[Any]:
        raise NotImplementedError

    def create_for_owner(self, owner: Any, data: dict[str, Any]) -> Model:
        raise NotImplementedError

    def update_row(self, row: Any, data: dict[str, Any]) -> Model:
        raise NotImplementedError

    def delete_row(self, row: Any) -> None:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Any]:
        return self.list_for_owner(self.request.user)

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        # The mixin renders serializer.data, i.e. serializer.instance: the service's row.
        serializer.instance = self.create_for_owner(
            self.request.user, dict(serializer.validated_data)
        )

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        serializer.instance = self.update_row(serializer.instance, dict(serializer.validated_data))

    def perform_destroy(self, instance: Any) -> None:
        self.delete_row(instance)

    def created_with_secret(
        self, serializer_class: type[BaseSerializer[Any]], row: Model, field: str, raw: str
    ) -> Response:
        """201 with the new row and its secret, which exists only in this response."""
        body = serializer_class(row, context=self.get_serializer_context()).data
        body[field] = raw
        return Response(body, status=status.HTTP_201_CREATED)


def request_owner(request: Request) -> User:
    """The owner making an authenticated request (every owner endpoint requires one)."""
    user = request.user
    if not isinstance(user, User):
        raise TypeError("request_owner() needs an authenticated owner request")
    return user
