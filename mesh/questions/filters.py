"""Query parameters of the owner's question history, GET /api/v1/questions/ (camelCase on
the wire). A pending question past its time to live counts as expired here too."""

from typing import Any

import django_filters
from django import forms
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from makima_site.filters import InstantFilter
from mesh.models import Question

MAX_SEARCH_LENGTH = 200
Status = Question.Status


class _CommaSeparatedChoiceField(forms.MultipleChoiceField):
    """Repeated values (`status=a&status=b`), comma-separated ones (`status=a,b`), or both."""

    def to_python(self, value: Any) -> list[str]:
        values = super().to_python(value)
        return [part.strip() for item in values for part in item.split(",") if part.strip()]


class StatusFilter(django_filters.MultipleChoiceFilter):
    field_class = _CommaSeparatedChoiceField

    def filter(self, qs: QuerySet[Question], value: list[str]) -> QuerySet[Question]:
        if not value:
            return qs
        now = timezone.now()
        wanted = Q()
        for name in set(value):
            if name == Status.PENDING:
                wanted |= Q(status=Status.PENDING, expires_at__gt=now)
            elif name == Status.EXPIRED:
                wanted |= Q(status=Status.EXPIRED) | Q(status=Status.PENDING, expires_at__lte=now)
            else:
                wanted |= Q(status=name)
        return qs.filter(wanted)


class QuestionOrdering(django_filters.OrderingFilter):
    """`ordering=createdAt|settledAt|expiresAt`, `-` for descending. Questions with no
    settledAt (pending) sort last either way; ties fall back to newest first, then id."""

    def filter(self, qs: QuerySet[Question], value: list[str] | None) -> QuerySet[Question]:
        if not value:
            return qs
        terms = []
        for param in value:
            if not param:
                continue
            field = self.get_ordering_value(param)
            name = field.lstrip("-")
            terms.append(
                F(name).desc(nulls_last=True)
                if field.startswith("-")
                else F(name).asc(nulls_last=True)
            )
        return qs.order_by(*terms, "-created_at", "-id")


class QuestionFilter(django_filters.FilterSet):
    status = StatusFilter(
        choices=Status.choices,
        help_text=(
            "Only questions in these statuses: repeat the parameter or separate them with "
            "commas (status=answered,declined)."
        ),
    )
    task = django_filters.UUIDFilter(
        field_name="task_id", help_text="Only questions asked by this task (its id)."
    )
    directive = django_filters.UUIDFilter(
        field_name="directive_id", help_text="Only questions on this directive (its id)."
    )
    questionType = django_filters.MultipleChoiceFilter(  # noqa: N815 - the wire name
        field_name="question_type",
        choices=Question.QuestionType.choices,
        help_text="Only questions of these types (repeat the parameter for several).",
    )
    createdAfter = InstantFilter(  # noqa: N815 - the wire name
        field_name="created_at",
        lookup_expr="gte",
        help_text="Only questions asked at or after this ISO 8601 instant.",
    )
    createdBefore = InstantFilter(  # noqa: N815 - the wire name
        field_name="created_at",
        lookup_expr="lt",
        help_text="Only questions asked strictly before this ISO 8601 instant.",
    )
    settledAfter = InstantFilter(  # noqa: N815 - the wire name
        field_name="settled_at",
        lookup_expr="gte",
        help_text="Only questions settled at or after this ISO 8601 instant.",
    )
    settledBefore = InstantFilter(  # noqa: N815 - the wire name
        field_name="settled_at",
        lookup_expr="lt",
        help_text="Only questions settled strictly before this ISO 8601 instant.",
    )
    search = django_filters.CharFilter(
        method="filter_search",
        max_length=MAX_SEARCH_LENGTH,
        help_text="Only questions whose text or context contains this text (any case).",
    )
    ordering = QuestionOrdering(
        fields={"created_at": "createdAt", "settled_at": "settledAt", "expires_at": "expiresAt"},
        help_text=(
            "Sort by createdAt, settledAt or expiresAt; prefix with - for descending "
            "(questions not yet settled sort last). Default: -createdAt."
        ),
    )

    class Meta:
        model = Question
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet[Question], name: str, value: str) -> Any:
        return queryset.filter(Q(question__icontains=value) | Q(context__icontains=value))
