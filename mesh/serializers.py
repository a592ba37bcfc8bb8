from rest_framework import serializers

from directives.models import Directive
from mesh.models import ApiToken, Task


class OwnedDirectiveField(serializers.PrimaryKeyRelatedField):
    """A directive id that must belong to the requesting owner (others look nonexistent)."""

    def get_queryset(self):
        request = self.context.get("request")
        if request is None or not request.user.is_authenticated:
            return Directive.objects.none()
        return Directive.objects.filter(owner=request.user)


class TaskSerializer(serializers.ModelSerializer):
    directive = OwnedDirectiveField(
        required=False, allow_null=True, pk_field=serializers.UUIDField()
    )

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


class ApiTokenSerializer(serializers.ModelSerializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at", "revoked_at"]


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
