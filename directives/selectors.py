from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from directives.models import Directive


def directive_list(*, owner: AbstractBaseUser) -> QuerySet[Directive]:
    return Directive.objects.filter(owner=owner)
