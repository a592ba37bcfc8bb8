"""POST /api/v1/mesh/supervisor/orders — a directive task files a spike or chore order.

The reference's `create_order_for_task`, byte-for-byte in shape, plus an Idempotency-Key
header so a retry after a dropped connection never files twice (makima_site/idempotency.py).
"""

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from makima_site.errors import ApplicationError
from makima_site.idempotency import IDEMPOTENCY_HEADER, idempotency_key, request_fingerprint
from makima_site.openapi import error_response, idempotency_key_parameter
from mesh.credentials.authentication import ToolKeyAuthentication
from orders import services
from orders.models import Order
from orders.serializers import (
    ORDER_CORE_FIELDS,
    LabelListField,
    description_field,
    repository_url_field,
    title_field,
)

TASK_ORDER_TYPES = (Order.OrderType.SPIKE, Order.OrderType.CHORE)
INVALID_ORDER_TYPE_MESSAGE = "Only spike and chore order types are allowed from directive tasks"


class TaskOrderInputSerializer(serializers.Serializer):
    title = title_field()
    description = description_field()
    priority = serializers.ChoiceField(choices=Order.Priority.choices, default="medium")
    order_type = serializers.CharField(
        default="spike", help_text="spike or chore; any other value is 400 INVALID_ORDER_TYPE."
    )
    labels = LabelListField(default=list, help_text="Up to 20 distinct labels, 1..50 chars.")
    repository_url = repository_url_field("Defaults to the directive's repository URL.")

    def validate_order_type(self, value: str) -> str:
        if value not in TASK_ORDER_TYPES:
            raise serializers.ValidationError(INVALID_ORDER_TYPE_MESSAGE, code="invalid_order_type")
        return value

    def validate(self, attrs: dict) -> dict:
        # Absent, null and "" all mean "none" here (the service stores None), so every field
        # is present with one spelling: a retry that writes a default differently has the
        # same validated data, hence the same fingerprint.
        for name in ("description", "repository_url"):
            attrs[name] = attrs.get(name) or None
        return attrs


class TaskOrderSerializer(serializers.ModelSerializer):
    """Exactly the reference's response keys."""

    directive_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = Order
        fields = [
            *ORDER_CORE_FIELDS,
            "directive_id",
            "labels",
            "repository_url",
            "created_at",
        ]
        read_only_fields = fields


def _raise_input_errors(serializer: TaskOrderInputSerializer) -> None:
    """INVALID_ORDER_TYPE as in the reference when orderType is the problem; else the rest."""
    order_type_errors = serializer.errors.get("order_type", [])
    if any(getattr(error, "code", None) == "invalid_order_type" for error in order_type_errors):
        raise ApplicationError(
            INVALID_ORDER_TYPE_MESSAGE,
            code="INVALID_ORDER_TYPE",
            details={"orderType": [INVALID_ORDER_TYPE_MESSAGE]},
        )
    raise ValidationError(serializer.errors)


class TaskOrderCreateView(APIView):
    authentication_classes = [ToolKeyAuthentication]
    permission_classes: list = []

    @extend_schema(
        operation_id="mesh_supervisor_orders_create",
        summary="File a spike or chore order for the calling task's directive",
        description=(
            "The order is filed on the task's directive for the task's owner, records the "
            "task, and takes the directive's repository URL unless one is given. Send an "
            f"`{IDEMPOTENCY_HEADER}` header to make retries safe: the same task sending the "
            "same key and body again within 24 hours gets the first order back (201, same id) "
            "instead of a new one; another task's key is its own. The body is compared after "
            "defaults, so leaving out a field or sending its default is the same body. The same "
            "key with a different body is 422 IDEMPOTENCY_KEY_REUSED and files nothing: send a "
            "new key for a new order."
        ),
        tags=["Mesh Supervisor"],
        request=TaskOrderInputSerializer,
        parameters=[idempotency_key_parameter()],
        responses={
            201: OpenApiResponse(
                response=TaskOrderSerializer,
                description=(
                    "The order filed (for a repeated Idempotency-Key: the first order filed "
                    "with it)."
                ),
            ),
            400: error_response(
                "INVALID_ORDER_TYPE (orderType is not spike or chore) or VALIDATION_ERROR "
                "(see details; nothing was stored)."
            ),
            401: error_response("UNAUTHORIZED: no tool key, or an unknown or rotated one."),
            403: error_response("NOT_DIRECTIVE_TASK: the task has no directive."),
            404: error_response("NOT_FOUND: the tool key's task was deleted."),
            413: error_response("PAYLOAD_TOO_LARGE: the body is over 1 MiB."),
            422: error_response(
                "IDEMPOTENCY_KEY_REUSED: this task used the Idempotency-Key within 24 hours "
                "with a different body; nothing was stored. Send a new key for a new order."
            ),
        },
        examples=[
            OpenApiExample(
                "A spike",
                request_only=True,
                value={
                    "title": "Investigate flaky login test",
                    "description": "Fails one run in ten on CI.",
                    "priority": "high",
                    "orderType": "spike",
                    "labels": ["ci", "auth"],
                },
            )
        ],
    )
    def post(self, request):
        task = request.auth
        key = idempotency_key(request.headers.get(IDEMPOTENCY_HEADER))
        serializer = TaskOrderInputSerializer(data=request.data)
        if not serializer.is_valid():
            _raise_input_errors(serializer)
        order = services.order_create(
            owner=task.owner,
            directive=task.directive,
            filed_by_task=task,
            idempotency_key=key,
            request_hash=request_fingerprint(serializer.validated_data),
            **serializer.validated_data,
        )
        return Response(TaskOrderSerializer(order).data, status=status.HTTP_201_CREATED)
