"""Query parameters of the owner's order list (camelCase on the wire, like the bodies)."""

import django_filters
from django.db import connections, models
from django.db.models.expressions import RawSQL

from makima_site.filters import InstantFilter
from orders.models import MAX_LABEL_LENGTH, Order
from orders.selectors import order_with_priority_rank

MAX_SEARCH_LENGTH = 200


class OrderOrdering(django_filters.OrderingFilter):
    """`ordering=created|updated|priority`, `-` for descending; priority sorts by severity."""

    def filter(self, qs, value):
        if not value:
            return qs
        fields = [self.get_ordering_value(param) for param in value if param]
        if any(field.lstrip("-") == "priority_rank" for field in fields):
            qs = order_with_priority_rank(qs)
        # Ties (same priority, same instant) fall back to newest first, then a unique key,
        # so pages never repeat or skip an order.
        return qs.order_by(*fields, "-created_at", "-id")


class OrderFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=Order.Status.choices,
        help_text="Only orders in these statuses (repeat the parameter for several).",
    )
    priority = django_filters.MultipleChoiceFilter(
        choices=Order.Priority.choices,
        help_text="Only orders of these priorities (repeat the parameter for several).",
    )
    orderType = django_filters.MultipleChoiceFilter(  # noqa: N815 - the wire name
        field_name="order_type",
        choices=Order.OrderType.choices,
        help_text="Only orders of these types (repeat the parameter for several).",
    )
    directive = django_filters.UUIDFilter(
        field_name="directive_id", help_text="Only orders on this directive (its id)."
    )
    label = django_filters.CharFilter(
        method="filter_label",
        max_length=MAX_LABEL_LENGTH,
        help_text="Only orders carrying this label (exact, case-sensitive).",
    )
    createdAfter = InstantFilter(  # noqa: N815 - the wire name
        field_name="created_at",
        lookup_expr="gte",
        help_text="Only orders created at or after this ISO 8601 instant.",
    )
    createdBefore = InstantFilter(  # noqa: N815 - the wire name
        field_name="created_at",
        lookup_expr="lt",
        help_text="Only orders created strictly before this ISO 8601 instant.",
    )
    search = django_filters.CharFilter(
        method="filter_search",
        max_length=MAX_SEARCH_LENGTH,
        help_text="Only orders whose title or description contains this text (any case).",
    )
    ordering = OrderOrdering(
        fields={"created_at": "created", "updated_at": "updated", "priority_rank": "priority"},
        help_text=(
            "Sort by created, updated or priority (by severity: low < medium < high < "
            "critical); prefix with - for descending. Default: -created."
        ),
    )

    class Meta:
        model = Order
        fields: list[str] = []

    def filter_label(self, queryset, name, value):
        if connections[queryset.db].vendor == "postgresql":
            # jsonb containment, served by the GIN index on labels.
            return queryset.filter(labels__contains=[value])
        # SQLite has no JSON containment lookup; ask json_each whether any element matches.
        # The only interpolation is the model's own quoted table name; the label is a parameter.
        table = connections[queryset.db].ops.quote_name(Order._meta.db_table)
        sql = f"EXISTS (SELECT 1 FROM json_each({table}.labels) WHERE json_each.value = %s)"  # noqa: S608
        has_label = RawSQL(sql, (value,), output_field=models.BooleanField())  # noqa: S611
        return queryset.alias(has_label=has_label).filter(has_label=True)

    def filter_search(self, queryset, name, value):
        return queryset.filter(
            models.Q(title__icontains=value) | models.Q(description__icontains=value)
        )
