from django_filters import rest_framework as filters

from directives.models import Directive


class DirectiveFilter(filters.FilterSet):
    """Query parameters in the wire's camelCase: ?status=active&reconcileMode=manual."""

    status = filters.ChoiceFilter(choices=Directive.Status.choices)
    reconcileMode = filters.ChoiceFilter(  # camelCase: it is the query parameter
        field_name="reconcile_mode", choices=Directive.ReconcileMode.choices
    )

    class Meta:
        model = Directive
        fields = ["status", "reconcileMode"]
