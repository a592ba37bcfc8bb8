"""Query-parameter helpers: list ordering in the wire's camelCase (`?ordering=-createdAt`,
snake_case accepted too), and instants that never reach the database out of its range."""

from datetime import UTC, timedelta

import django_filters
from django.core.exceptions import ValidationError
from djangorestframework_camel_case.util import (
    camel_to_underscore,
    camelize_re,
    underscore_to_camel,
)
from rest_framework.filters import OrderingFilter

# The widest offset in use on Earth (Kiribati, +14:00); PostgreSQL refuses beyond ±15:59.
MAX_UTC_OFFSET = timedelta(hours=14)


def _camel(name: str) -> str:
    return camelize_re.sub(underscore_to_camel, name)


class CamelCaseOrderingFilter(OrderingFilter):
    """DRF's OrderingFilter, reading camelCase field names; the schema lists the choices."""

    def get_ordering(self, request, queryset, view):
        raw = request.query_params.get(self.ordering_param)
        if raw:
            terms = []
            for term in raw.split(","):
                term = term.strip()
                descending = term.startswith("-")
                name = camel_to_underscore(term.lstrip("-"), no_underscore_before_number=True)
                terms.append(f"-{name}" if descending else name)
            fields = self.remove_invalid_fields(queryset, terms, view, request)
            if fields:
                return fields
        return self.get_default_ordering(view)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        declared = getattr(view, "ordering_fields", None)
        if isinstance(declared, list | tuple) and declared:
            fields = [_camel(name) for name in declared]
            parameters[0]["schema"]["enum"] = [
                value for name in fields for value in (name, f"-{name}")
            ]
            parameters[0]["description"] = (
                f"Sort by {', '.join(fields)}; prefix with '-' for descending."
            )
        return parameters


class InstantFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 instant in a query parameter, compared in UTC.

    An instant whose offset or year the database cannot take (a +17:53 offset PostgreSQL
    refuses; 0001-01-01T00:00+01:00, which is before year 1 in UTC) is a 400, not a 500.
    """

    class field_class(django_filters.fields.IsoDateTimeField):  # noqa: N801 - Django's name
        default_error_messages = {
            "out_of_range": "Enter an instant between years 1 and 9999 with an offset "
            "within ±14:00, e.g. 2026-01-31T09:30:00Z."
        }

        def to_python(self, value):
            instant = super().to_python(value)
            if instant is None:
                return None
            offset = instant.utcoffset()
            if offset is not None and abs(offset) > MAX_UTC_OFFSET:
                raise ValidationError(self.error_messages["out_of_range"], code="out_of_range")
            try:
                return instant.astimezone(UTC)
            except OverflowError:
                raise ValidationError(
                    self.error_messages["out_of_range"], code="out_of_range"
                ) from None
