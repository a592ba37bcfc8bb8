"""List ordering in the wire's camelCase: `?ordering=-createdAt` (snake_case is accepted too)."""

from djangorestframework_camel_case.util import (
    camel_to_underscore,
    camelize_re,
    underscore_to_camel,
)
from rest_framework.filters import OrderingFilter


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
