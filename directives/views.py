from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.response import Response

from directives import services
from directives.filters import DirectiveFilter
from directives.models import Directive
from directives.selectors import directive_list
from directives.serializers import DirectiveSerializer


@extend_schema_view(
    list=extend_schema(summary="List your directives"),
    create=extend_schema(summary="Create a directive"),
    retrieve=extend_schema(summary="Get a directive"),
    update=extend_schema(summary="Replace a directive"),
    partial_update=extend_schema(summary="Update a directive"),
    destroy=extend_schema(summary="Delete a directive (its tasks stay, detached)"),
)
class DirectiveViewSet(viewsets.ModelViewSet):
    """The owner's directives; another owner's are 404."""

    serializer_class = DirectiveSerializer
    filterset_class = DirectiveFilter
    ordering_fields = ["created_at", "updated_at"]
    ordering = ["-created_at"]
    queryset = Directive.objects.none()

    def get_queryset(self):
        return directive_list(owner=self.request.user)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        directive = services.directive_create(owner=request.user, **serializer.validated_data)
        return Response(self.get_serializer(directive).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        directive = self.get_object()
        serializer = self.get_serializer(
            directive, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        directive = services.directive_update(directive=directive, **serializer.validated_data)
        return Response(self.get_serializer(directive).data)

    def perform_destroy(self, instance):
        services.directive_delete(directive=instance)
