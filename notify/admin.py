"""Admin for webhook endpoints, their deliveries and notification channels. Staff who are
not superusers see only their own; secrets never appear (only their encrypted form is
stored, and it is not shown)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from makima_site.admin import ReadOnlyInline
from notify import selectors
from notify.models import Delivery, DeliveryAttempt, NotificationChannel, Webhook


class DeliveryAttemptInline(ReadOnlyInline):
    model = DeliveryAttempt
    fields = ("attempted_at", "http_status", "duration_ms", "error", "response_body")
    readonly_fields = fields
    show_change_link = False


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["url", "owner", "is_active", "disabled_reason", "created_at"]
    list_filter = ["is_active"]
    fields = ["owner", "url", "events", "description", "is_active", "disabled_reason"]
    readonly_fields = ["owner", "disabled_reason"]

    def get_queryset(self, request: HttpRequest) -> Any:
        return selectors.webhook_admin_list(user=request.user)  # type: ignore[arg-type]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # created through the API, which shows the secret once


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["event_type", "message_id", "webhook", "status", "attempt_count", "created_at"]
    list_filter = ["status", "event_type"]
    fields = (
        "webhook",
        "event_type",
        "message_id",
        "status",
        "attempt_count",
        "next_attempt_at",
        "payload",
    )
    readonly_fields = fields
    inlines = [DeliveryAttemptInline]

    def get_queryset(self, request: HttpRequest) -> Any:
        return selectors.delivery_admin_list(user=request.user)  # type: ignore[arg-type]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(NotificationChannel)
class NotificationChannelAdmin(admin.ModelAdmin):
    list_display = ["kind", "owner", "remind_after_minutes", "is_active", "created_at"]
    list_filter = ["kind", "is_active"]
    fields = ["owner", "kind", "events", "remind_after_minutes", "is_active"]
    readonly_fields = ["owner", "kind"]

    def get_queryset(self, request: HttpRequest) -> Any:
        return selectors.channel_admin_list(user=request.user)  # type: ignore[arg-type]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
