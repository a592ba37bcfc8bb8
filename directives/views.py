from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from directives import services
from directives.filters import DirectiveFilter
from directives.models import Directive
from directives.selectors import directive_list
from directives.serializers import DirectiveSerializer
from makima_site.viewsets import OwnerScopedViewSet


@extend_schema_view(
    list=extend_schema(summary="List your directives"),
    create=extend_schema(summary="Create a directive"),
    retrieve=extend_schema(summary="Get a directive"),
    update=extend_schema(summary="Replace a directive"),
    partial_update=extend_schema(summary="Update a directive"),
    destroy=extend_schema(summary="Delete a directive (its tasks stay, detached)"),
)
class DirectiveViewSet(OwnerScopedViewSet, viewsets.ModelViewSet):
    """The owner's directives; another owner's are 404."""

    serializer_class = DirectiveSerializer
    filterset_class = DirectiveFilter
    ordering_fields = ["created_at", "updated_at"]
    ordering = ["-created_at"]
    queryset = Directive.objects.none()

    def list_for_owner(self, owner):
        return directive_list(owner=owner)

    def create_for_owner(self, owner, data):
        return services.directive_create(owner=owner, **data)

    def update_row(self, row, data):
        return services.directive_update(directive=row, **data)

    def delete_row(self, row):
        services.directive_delete(directive=row)
