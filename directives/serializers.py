from rest_framework import serializers

from directives.models import Directive


class DirectiveSerializer(serializers.ModelSerializer):
    class Meta:
        model = Directive
        fields = [
            "id",
            "title",
            "goal",
            "reconcile_mode",
            "repository_url",
            "status",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"goal": {"required": False}}
