from django_filters import rest_framework as filters

from mesh.models import Task


class TaskFilter(filters.FilterSet):
    """?status=running&directive=<uuid>. The directive is matched by id only, so another
    owner's directive id simply matches nothing (no existence check that could leak it)."""

    status = filters.ChoiceFilter(choices=Task.Status.choices)
    directive = filters.UUIDFilter(field_name="directive_id")

    class Meta:
        model = Task
        fields = ["status", "directive"]
