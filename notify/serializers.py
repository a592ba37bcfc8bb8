"""Every shape of webhooks, deliveries and notification channels, defined once."""

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from notify import crypto
from notify.models import (
    EVENT_TYPES,
    MAX_URL_LENGTH,
    Delivery,
    DeliveryAttempt,
    NotificationChannel,
    Webhook,
)


def events_field() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ChoiceField(choices=list(EVENT_TYPES)),
        required=False,
        max_length=len(EVENT_TYPES),
        help_text="Event types to receive; empty means all.",
    )


# A part of what the URL field and check_webhook_url accept that a JSON Schema can say (an
# https URL of a plain host name; http and other hosts may be accepted too, by the settings).
WEBHOOK_URL_PATTERN = (
    r"^https://[a-z0-9]{1,20}(-[a-z0-9]{1,20}){0,2}(\.[a-z0-9]{1,20}(-[a-z0-9]{1,20}){0,2}){0,4}"
    r"\.[a-z]{2,10}(/[A-Za-z0-9._~-]{1,40}){0,8}/?$"
)


class WebhookUrlField(serializers.URLField):
    """The endpoint's URL (http or https; https with DEBUG off, see check_webhook_url)."""


class WebhookUrlFieldSchema(OpenApiSerializerFieldExtension):
    """The pattern on request bodies only: a response shows the URL as it was stored."""

    target_class = WebhookUrlField

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        return {**schema, "pattern": WEBHOOK_URL_PATTERN} if direction == "request" else schema


class WebhookSerializer(serializers.ModelSerializer):
    url = WebhookUrlField(max_length=MAX_URL_LENGTH)
    events = events_field()
    disabled_reason = serializers.CharField(read_only=True)

    class Meta:
        model = Webhook
        fields = [
            "id",
            "url",
            "events",
            "description",
            "is_active",
            "disabled_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "disabled_reason", "created_at", "updated_at"]


class WebhookWithSecretSerializer(WebhookSerializer):
    """Creation and rotation replies: the secret, shown this once."""

    secret = serializers.CharField(read_only=True, help_text="whsec_…; shown only here.")

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["attempted_at", "http_status", "duration_ms", "error", "response_body"]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    webhook_id = serializers.CharField(source="message_id", read_only=True)
    attempts = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event_type",
            "webhook_id",
            "status",
            "attempt_count",
            "next_attempt_at",
            "attempts",
            "created_at",
        ]
        read_only_fields = fields


class TargetField(serializers.CharField):
    """Written in clear; read back masked (the row holds it encrypted)."""

    def to_internal_value(self, data: Any) -> dict[str, str]:  # type: ignore[override]
        return {"target": super().to_internal_value(data)}

    def to_representation(self, value: Any) -> str:
        return masked_target(value)


class NotificationChannelSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=NotificationChannel.Kind.choices)
    target = TargetField(
        source="*",
        max_length=2000,
        help_text="An email address, or an Apprise URL (shown back with its secrets masked).",
    )
    events = events_field()
    remind_after_minutes = serializers.IntegerField(min_value=0, max_value=10080, required=False)

    class Meta:
        model = NotificationChannel
        fields = [
            "id",
            "kind",
            "target",
            "events",
            "remind_after_minutes",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


def masked_target(channel: NotificationChannel) -> str:
    """An email address as is; an Apprise URL as its scheme only (its path holds tokens)."""
    target = crypto.decrypt(channel.target_encrypted)
    if channel.kind == NotificationChannel.Kind.EMAIL:
        return target
    return target.split("://", 1)[0] + "://…"
