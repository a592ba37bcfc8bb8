import uuid

from django.conf import settings
from django.db import models

from makima_site.models import TimestampedModel


class Directive(TimestampedModel):
    """A long-running goal owned by a person; its tasks ask questions and file orders."""

    class ReconcileMode(models.TextChoices):
        AUTO = "auto", "Auto"
        SEMI_AUTO = "semi-auto", "Semi-auto"
        MANUAL = "manual", "Manual"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        ARCHIVED = "archived", "Archived"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="directives"
    )
    title = models.CharField(max_length=200)
    goal = models.TextField(blank=True, max_length=20000)
    reconcile_mode = models.CharField(
        max_length=16, choices=ReconcileMode.choices, default=ReconcileMode.AUTO
    )
    repository_url = models.URLField(max_length=500, blank=True, null=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "status", "created_at"])]

    def __str__(self) -> str:
        return self.title
