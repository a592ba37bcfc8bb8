from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.response import Response

from makima_site.openapi import error_response
from orders import selectors, services
from orders.filters import OrderFilter
from orders.models import Order
from orders.serializers import OrderSerializer

_NOT_FOUND = error_response("No order of yours has this id.")
_INVALID = error_response("VALIDATION_ERROR: the body breaks a rule (see details).")


@extend_schema_view(
    list=extend_schema(summary="List your orders"),
    create=extend_schema(summary="File an order", responses={201: OrderSerializer, 400: _INVALID}),
    retrieve=extend_schema(
        summary="Get an order", responses={200: OrderSerializer, 404: _NOT_FOUND}
    ),
    partial_update=extend_schema(
        summary="Update an order (fields and status transitions)",
        responses={200: OrderSerializer, 400: _INVALID, 404: _NOT_FOUND},
    ),
    destroy=extend_schema(summary="Delete an order", responses={204: None, 404: _NOT_FOUND}),
)
class OrderViewSet(viewsets.ModelViewSet):
    """The owner's orders; another owner's are 404. Changes are PATCHes (no PUT)."""

    serializer_class = OrderSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = OrderFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    queryset = Order.objects.none()

    def get_queryset(self):
        return selectors.order_list(owner=self.request.user)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = services.order_create(owner=request.user, **serializer.validated_data)
        return Response(self.get_serializer(order).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        order = self.get_object()
        serializer = self.get_serializer(order, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        order = services.order_update(order=order, data=serializer.validated_data)
        return Response(self.get_serializer(order).data)

    def perform_destroy(self, instance):
        services.order_delete(order=instance)
