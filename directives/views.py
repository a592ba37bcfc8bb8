from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from directives.models import Directive
from directives.selectors import directive_list
from directives.serializers import DirectiveSerializer


@extend_schema_view(
    list=extend_schema(summary="List your directives"),
    create=extend_schema(summary="Create a directive"),
    retrieve=extend_schema(summary="Get a directive"),
    update=extend_schema(summary="Replace a directive"),
    partial_update=extend_schema(summary="Update a directive"),
    destroy=extend_schema(summary="Delete a directive"),
)
class DirectiveViewSet(viewsets.ModelViewSet):
    """The owner's directives; another owner's are 404."""

    serializer_class = DirectiveSerializer
    filterset_fields = ["status", "reconcile_mode"]
    ordering_fields = ["created_at", "updated_at"]
    ordering = ["-created_at"]
    queryset = Directive.objects.none()

    def get_queryset(self):
        return directive_list(owner=self.request.user)

    def perform_create(self, serializer):
        serializer.save(owner=self.request.user)
