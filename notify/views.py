"""/api/v1/webhooks/ and /api/v1/notification-channels/: thin owner viewsets."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from makima_site.openapi import error_response
from makima_site.viewsets import OwnerScopedViewSet
from notify import selectors, services
from notify.models import NotificationChannel, Webhook
from notify.serializers import (
    DeliverySerializer,
    NotificationChannelSerializer,
    WebhookSerializer,
    WebhookWithSecretSerializer,
)

_NOT_FOUND = error_response("No webhook of yours has this id.")


@extend_schema_view(
    list=extend_schema(summary="List your webhook endpoints"),
    create=extend_schema(
        summary="Add a webhook endpoint (returns its secret once)",
        responses={201: WebhookWithSecretSerializer},
    ),
    retrieve=extend_schema(summary="Get a webhook endpoint"),
    update=extend_schema(summary="Replace a webhook endpoint"),
    partial_update=extend_schema(summary="Update a webhook endpoint"),
    destroy=extend_schema(summary="Delete a webhook endpoint"),
)
class WebhookViewSet(OwnerScopedViewSet, viewsets.ModelViewSet):
    """The owner's webhook endpoints; another owner's are 404."""

    serializer_class = WebhookSerializer
    queryset = Webhook.objects.none()
    ordering_fields = ["created_at", "updated_at"]
    ordering = ["-created_at"]

    def list_for_owner(self, owner):
        return selectors.webhook_list(owner=owner)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        webhook, secret = services.webhook_create(owner=request.user, **serializer.validated_data)
        return self.created_with_secret(WebhookSerializer, webhook, "secret", secret)

    def update_row(self, row, data):
        return services.webhook_update(webhook=row, data=data)

    def delete_row(self, row):
        services.webhook_delete(webhook=row)

    @extend_schema(
        summary="Rotate the signing secret (the old one keeps signing for 24 h)",
        request=None,
        responses={200: WebhookWithSecretSerializer, 404: _NOT_FOUND},
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        webhook, secret = services.webhook_rotate_secret(webhook=self.get_object())
        body = WebhookSerializer(webhook, context=self.get_serializer_context()).data
        body["secret"] = secret
        return Response(body)

    @extend_schema(
        summary="Send a webhook.test event",
        request=None,
        responses={202: DeliverySerializer, 404: _NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        delivery = services.webhook_send_test(webhook=self.get_object())
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="The endpoint's deliveries, newest first",
        responses={200: DeliverySerializer(many=True)},  # paginated, like every list
    )
    @action(detail=True, methods=["get"], serializer_class=DeliverySerializer)
    def deliveries(self, request, pk=None):
        rows = selectors.delivery_list(webhook=self.get_object())
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(
        summary="Deliver one again now (same webhook-id)",
        request=None,
        responses={202: DeliverySerializer, 404: _NOT_FOUND},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"deliveries/(?P<deliveryId>[0-9a-fA-F-]{36})/retry",
    )
    def retry(self, request, pk=None, deliveryId=None):  # noqa: N803 (the path's name)
        rows = selectors.delivery_list(webhook=self.get_object())
        delivery = services.delivery_retry(delivery=get_object_or_404(rows, pk=deliveryId))
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(summary="List your notification channels"),
    create=extend_schema(summary="Add a notification channel (email or Apprise)"),
    retrieve=extend_schema(summary="Get a notification channel"),
    update=extend_schema(summary="Replace a notification channel"),
    partial_update=extend_schema(summary="Update a notification channel"),
    destroy=extend_schema(summary="Delete a notification channel"),
)
class NotificationChannelViewSet(OwnerScopedViewSet, viewsets.ModelViewSet):
    """The owner's notification channels; another owner's are 404."""

    serializer_class = NotificationChannelSerializer
    queryset = NotificationChannel.objects.none()
    ordering_fields = ["created_at", "updated_at"]
    ordering = ["-created_at"]

    def list_for_owner(self, owner):
        return selectors.channel_list(owner=owner)

    def create_for_owner(self, owner, data):
        return services.channel_create(owner=owner, **data)

    def update_row(self, row, data):
        return services.channel_update(channel=row, data=data)

    def delete_row(self, row):
        services.channel_delete(channel=row)

    @extend_schema(summary="Send a test notification", request=None, responses={202: None})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        notification = services.channel_send_test(channel=self.get_object())
        return Response(
            {"notificationId": str(notification.id), "status": notification.status},
            status=status.HTTP_202_ACCEPTED,
        )
