"""Reads of tasks, scoped to their owner."""

from django.contrib.auth.models import User
from django.db.models import QuerySet

from mesh.models import Task


def task_list(*, owner: User) -> QuerySet[Task]:
    return Task.objects.filter(owner=owner).select_related("directive")
