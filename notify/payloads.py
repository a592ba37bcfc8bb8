"""The `data` of an event: the question or the order as the owner API shows it.

question_data() is the question resource's shape (QuestionResourceSerializer, served at
/api/v1/questions/{id}/); order_data() the order's (/api/v1/orders/{id}/). Keys are
camelCase, as the REST renderer writes them.
"""

from typing import Any

from makima_site.formats import camel_keys, timestamp
from mesh.models import Question
from mesh.questions.serializers import QuestionResourceSerializer
from orders.models import Order
from orders.serializers import OrderSerializer


def question_data(question: Question) -> dict[str, Any]:
    return camel_keys(QuestionResourceSerializer(question).data)


def order_data(order: Order) -> dict[str, Any]:
    return camel_keys(OrderSerializer(order).data)


def event_body(event_type: str, data: dict[str, Any], at: Any) -> dict[str, Any]:
    """The delivery body of Standard Webhooks: {type, timestamp, data}."""
    return {"type": event_type, "timestamp": timestamp(at), "data": data}
