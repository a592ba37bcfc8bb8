from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from directives.fields import OwnDirectiveField
from orders.models import (
    MAX_DESCRIPTION_LENGTH,
    MAX_LABEL_LENGTH,
    MAX_LABELS,
    MAX_REPOSITORY_URL_LENGTH,
    MAX_TITLE_LENGTH,
    Order,
    label_errors,
)

# What the schema says of a label and of a repository URL: a part of what label_errors and
# Django's URLValidator accept that a JSON Schema can say exactly (a value the pattern does
# not describe may still be accepted, e.g. a label in another script; one it describes
# always is), so generated valid bodies are valid.
LABEL_PATTERN = r"^[ -~]*[!-~][ -~]*$"  # printable ASCII, not blank
_HOST_LABEL = r"[a-z0-9]{1,20}(-[a-z0-9]{1,20}){0,2}"
REPOSITORY_URL_PATTERN = (
    rf"^$|^https?://{_HOST_LABEL}(\.{_HOST_LABEL}){{0,4}}\.[a-z]{{2,10}}"
    r"(/[A-Za-z0-9._~-]{1,40}){0,8}/?$"
)


class LabelListField(serializers.ListField):
    """Up to 20 distinct labels of 1..50 characters (the model's rules, one message each)."""

    child = serializers.CharField(max_length=MAX_LABEL_LENGTH)

    def to_internal_value(self, data):
        labels = super().to_internal_value(data)
        errors = label_errors(labels)
        if errors:
            raise serializers.ValidationError(errors)
        return labels


# The fields both the owner's and the task's order bodies take, with the model's bounds.
def title_field() -> serializers.CharField:
    return serializers.CharField(max_length=MAX_TITLE_LENGTH)


def description_field() -> serializers.CharField:
    return serializers.CharField(
        max_length=MAX_DESCRIPTION_LENGTH, required=False, allow_null=True, allow_blank=True
    )


class RepositoryUrlField(serializers.URLField):
    """An http(s) URL, blank or null."""


class _RequestPatterns(OpenApiSerializerFieldExtension):
    """The patterns above, on request bodies only: a response shows what was stored, which
    may be any value the API accepted."""

    def request_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        return self.request_schema(schema) if direction == "request" else schema


class LabelListFieldSchema(_RequestPatterns):
    target_class = LabelListField

    def request_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        items = {**schema.get("items", {}), "minLength": 1, "pattern": LABEL_PATTERN}
        return {**schema, "maxItems": MAX_LABELS, "uniqueItems": True, "items": items}


class RepositoryUrlFieldSchema(_RequestPatterns):
    target_class = RepositoryUrlField

    def request_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "string",
            "nullable": True,
            "maxLength": MAX_REPOSITORY_URL_LENGTH,
            "pattern": REPOSITORY_URL_PATTERN,
        }


def repository_url_field(help_text: str) -> serializers.URLField:
    return RepositoryUrlField(
        max_length=MAX_REPOSITORY_URL_LENGTH,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text=help_text,
    )


# The keys every order shape starts with (the reference's, for a task-filed order).
ORDER_CORE_FIELDS = ["id", "title", "description", "priority", "status", "order_type"]


class OrderSerializer(serializers.ModelSerializer):
    """An order as its owner reads and writes it."""

    directive = OwnDirectiveField(help_text="The id of one of your directives.")
    directive_title = serializers.CharField(source="directive.title", read_only=True)
    title = title_field()
    description = description_field()
    labels = LabelListField(required=False, help_text="Up to 20 distinct labels, 1..50 chars.")
    repository_url = repository_url_field("Defaults to the directive's repository URL on creation.")
    filed_by_task = serializers.UUIDField(
        source="filed_by_task_id",
        read_only=True,
        allow_null=True,
        help_text="The task that filed this order, if a task did.",
    )

    class Meta:
        model = Order
        fields = [
            *ORDER_CORE_FIELDS,
            "directive",
            "directive_title",
            "labels",
            "repository_url",
            "filed_by_task",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
