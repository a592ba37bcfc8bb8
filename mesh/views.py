from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from makima_site.throttles import TokenCreateThrottle
from mesh import selectors, services
from mesh.filters import TaskFilter
from mesh.models import ApiToken, Task
from mesh.serializers import (
    ApiTokenCreatedSerializer,
    ApiTokenSerializer,
    TaskCreatedSerializer,
    TaskSerializer,
    ToolKeySerializer,
)


@extend_schema_view(
    list=extend_schema(summary="List your tasks"),
    create=extend_schema(
        summary="Create a task (returns its tool key once)",
        responses={201: TaskCreatedSerializer},
    ),
    retrieve=extend_schema(summary="Get a task"),
    update=extend_schema(summary="Replace a task"),
    partial_update=extend_schema(summary="Update a task"),
    destroy=extend_schema(summary="Delete a task"),
)
class TaskViewSet(viewsets.ModelViewSet):
    """The owner's tasks; another owner's are 404."""

    serializer_class = TaskSerializer
    filterset_class = TaskFilter
    ordering_fields = ["created_at", "updated_at"]
    ordering = ["-created_at"]
    queryset = Task.objects.none()

    def get_queryset(self):
        return selectors.task_list(owner=self.request.user)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task, raw_key = services.task_create(owner=request.user, **serializer.validated_data)
        body = TaskCreatedSerializer(task, context=self.get_serializer_context()).data
        body["tool_key"] = raw_key
        return Response(body, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        task = self.get_object()
        serializer = self.get_serializer(
            task, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        task = services.task_update(task=task, **serializer.validated_data)
        return Response(self.get_serializer(task).data)

    def perform_destroy(self, instance):
        services.task_delete(task=instance)

    @extend_schema(
        summary="Rotate the task's tool key (the old key stops working at once)",
        request=None,
        responses={200: ToolKeySerializer},
    )
    @action(detail=True, methods=["post"], url_path="rotate-key")
    def rotate_key(self, request, pk=None):
        task = self.get_object()
        raw_key = services.task_rotate_tool_key(task=task)
        return Response({"tool_key": raw_key})


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
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The owner's personal API tokens. DELETE revokes (the record stays for audit)."""

    serializer_class = ApiTokenSerializer
    ordering_fields = ["created_at", "last_used_at"]
    ordering = ["-created_at"]
    filterset_fields = []
    queryset = ApiToken.objects.none()

    def get_queryset(self):
        return selectors.api_token_list(owner=self.request.user)

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
        body = ApiTokenCreatedSerializer(token).data
        body["token"] = raw
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.api_token_revoke(token=instance)

    @extend_schema(summary="Revoke an API token", request=None, responses={200: ApiTokenSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        token = services.api_token_revoke(token=self.get_object())
        return Response(ApiTokenSerializer(token).data)
