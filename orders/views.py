from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from makima_site.openapi import error_response
from makima_site.viewsets import OwnerScopedViewSet
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
class OrderViewSet(OwnerScopedViewSet, viewsets.ModelViewSet):
    """The owner's orders; another owner's are 404. Changes are PATCHes (no PUT)."""

    serializer_class = OrderSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = OrderFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    queryset = Order.objects.none()

    def list_for_owner(self, owner):
        return selectors.order_list(owner=owner)

    def create_for_owner(self, owner, data):
        return services.order_create(owner=owner, **data)

    def update_row(self, row, data):
        return services.order_update(order=row, data=data)

    def delete_row(self, row):
        services.order_delete(order=row)
