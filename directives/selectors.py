from django.contrib.auth.models import User
from django.db.models import QuerySet

from directives.models import Directive


def directive_list(*, owner: User) -> QuerySet[Directive]:
    return Directive.objects.filter(owner=owner)
