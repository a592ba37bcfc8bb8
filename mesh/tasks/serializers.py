from rest_framework import serializers

from directives.fields import OwnDirectiveField
from mesh.models import Task


class TaskSerializer(serializers.ModelSerializer):
    directive = OwnDirectiveField(required=False, allow_null=True)

    class Meta:
        model = Task
        fields = ["id", "name", "directive", "status", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class TaskCreatedSerializer(TaskSerializer):
    tool_key = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(TaskSerializer.Meta):
        fields = [*TaskSerializer.Meta.fields, "tool_key"]


class ToolKeySerializer(serializers.Serializer):
    tool_key = serializers.CharField(read_only=True, help_text="Shown once; store it now.")
