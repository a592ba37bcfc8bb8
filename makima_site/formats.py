"""Value formats every response and event shares."""

from datetime import datetime

from rest_framework.fields import DateTimeField

_DATETIME = DateTimeField()


def timestamp(value: datetime | None) -> str | None:
    """An aware datetime as the API writes it everywhere: ISO 8601 in UTC with "Z"."""
    return None if value is None else str(_DATETIME.to_representation(value))
