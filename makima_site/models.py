"""Abstract model pieces every app's models share."""

from django.db import models


class TimestampedModel(models.Model):
    """created_at (set once) and updated_at (every save), the pair each resource exposes."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
