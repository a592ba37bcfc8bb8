"""Builders for owners, tokens, directives, tasks and questions used across the suite."""

import itertools

from django.contrib.auth import get_user_model

from directives.models import Directive
from mesh.credentials import services as credential_services
from mesh.models import Question, Task
from mesh.questions import services as question_services
from mesh.tasks import services as task_services
from orders import services as order_services
from orders.models import Order

_counter = itertools.count(1)


def make_owner(username: str | None = None, *, is_staff: bool = False, password: str = "pw"):
    User = get_user_model()
    user = User.objects.create_user(
        username=username or f"owner{next(_counter)}", password=password, is_staff=is_staff
    )
    return user


def make_token(owner, name: str = "") -> str:
    _, raw = credential_services.api_token_create(owner=owner, name=name)
    return raw


def make_directive(owner, **fields) -> Directive:
    fields.setdefault("title", f"Directive {next(_counter)}")
    fields.setdefault("goal", "Keep the lights on")
    return Directive.objects.create(owner=owner, **fields)


def make_task(
    owner, directive: Directive | None = None, name: str | None = None
) -> tuple[Task, str]:
    """A task and its raw tool key."""
    return task_services.task_create(
        owner=owner, name=name or f"task-{next(_counter)}", directive=directive
    )


def make_question(task: Task, **fields) -> Question:
    fields.setdefault("question", "Proceed?")
    return question_services.question_ask(task=task, **fields)


def make_order(owner, directive: Directive, **fields) -> Order:
    fields.setdefault("title", f"Order {next(_counter)}")
    fields.setdefault("order_type", Order.OrderType.CHORE)
    return order_services.order_create(owner=owner, directive=directive, **fields)
