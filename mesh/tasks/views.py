from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from makima_site.viewsets import OwnerScopedViewSet
from mesh.models import Task
from mesh.tasks import selectors, services
from mesh.tasks.filters import TaskFilter
from mesh.tasks.serializers import TaskCreatedSerializer, TaskSerializer, ToolKeySerializer


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
class TaskViewSet(OwnerScopedViewSet, viewsets.ModelViewSet):
    """The owner's tasks; another owner's are 404."""

    serializer_class = TaskSerializer
    filterset_class = TaskFilter
    ordering_fields = ["created_at", "updated_at"]
    ordering = ["-created_at"]
    queryset = Task.objects.none()

    def list_for_owner(self, owner):
        return selectors.task_list(owner=owner)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task, raw_key = services.task_create(owner=request.user, **serializer.validated_data)
        return self.created_with_secret(TaskCreatedSerializer, task, "tool_key", raw_key)

    def update_row(self, row, data):
        return services.task_update(task=row, **data)

    def delete_row(self, row):
        services.task_delete(task=row)

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
