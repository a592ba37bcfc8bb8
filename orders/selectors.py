"""Reads of the orders app: every query an owner runs is scoped to that owner here."""

from django.contrib.auth.models import User
from django.db import models
from django.db.models import QuerySet

from directives.models import Directive
from orders.models import Order

PRIORITY_RANK = models.Case(
    *(models.When(priority=value, then=rank) for value, rank in Order.PRIORITY_RANK.items()),
    output_field=models.IntegerField(),
)


def order_list(*, owner: User) -> QuerySet[Order]:
    """The owner's orders with their directive joined, so a page costs one query."""
    return Order.objects.filter(owner=owner).select_related("directive")


def order_admin_list(*, user: User) -> QuerySet[Order]:
    """What the admin shows `user`: everything to a superuser, else only their own orders."""
    orders = Order.objects.select_related("directive", "owner")
    if user.is_superuser:
        return orders
    return orders.filter(owner=user)


def directive_list_choices(*, user: User) -> QuerySet[Directive]:
    """The directives `user` may put an order on in the admin."""
    directives = Directive.objects.select_related("owner").order_by("title")
    if user.is_superuser:
        return directives
    return directives.filter(owner=user)


def order_with_priority_rank(orders: QuerySet[Order]) -> QuerySet[Order]:
    """Annotate `priority_rank` (low 0 … critical 3) to order by severity, not alphabet."""
    return orders.alias(priority_rank=PRIORITY_RANK)
