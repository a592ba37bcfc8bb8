import django_filters

from mesh.models import Task


class TaskFilter(django_filters.FilterSet):
    # A plain UUID filter, not a choice among all directives: filtering by another owner's
    # directive must answer exactly like an unknown id (an empty page), never reveal it.
    directive = django_filters.UUIDFilter(
        field_name="directive_id", help_text="Only tasks of this directive."
    )

    class Meta:
        model = Task
        fields = ["status", "directive"]
