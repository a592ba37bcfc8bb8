from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from makima_site.throttles import TokenCreateThrottle
from makima_site.viewsets import OwnerScopedViewSet
from mesh.credentials import selectors, services
from mesh.credentials.serializers import ApiTokenCreatedSerializer, ApiTokenSerializer
from mesh.models import ApiToken


@extend_schema_view(
    list=extend_schema(summary="List your API tokens"),
    create=extend_schema(
        summary="Create an API token (the raw token is shown once)",
        responses={201: ApiTokenCreatedSerializer},
    ),
    retrieve=extend_schema(summary="Get an API token's metadata"),
    destroy=extend_schema(summary="Revoke an API token"),
)
class ApiTokenViewSet(
    OwnerScopedViewSet,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
):
    """The owner's personal API tokens. DELETE revokes (the record stays for audit)."""

    serializer_class = ApiTokenSerializer
    ordering_fields = ["created_at", "last_used_at"]
    ordering = ["-created_at"]
    filterset_fields: list[str] = []
    queryset = ApiToken.objects.none()

    def list_for_owner(self, owner):
        return selectors.api_token_list(owner=owner)

    def get_throttles(self):
        if self.action == "create":
            return [TokenCreateThrottle()]
        return super().get_throttles()

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, raw = services.api_token_create(
            owner=request.user, name=serializer.validated_data.get("name", "")
        )
        return self.created_with_secret(ApiTokenCreatedSerializer, token, "token", raw)

    def delete_row(self, row):
        services.api_token_revoke(token=row)

    @extend_schema(summary="Revoke an API token", request=None, responses={200: ApiTokenSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        token = services.api_token_revoke(token=self.get_object())
        return Response(ApiTokenSerializer(token).data)
