"""Strict JSON fields for the supervisor endpoints.

The supervisor CLIs send typed JSON; DRF's fields coerce ("5" → 5, 1 → "1", "yes" → True).
These refuse the wrong JSON type instead, so a client bug surfaces as a 400.
"""

from typing import Any

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": "Must be a whole number."}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


def not_blank(value: str) -> None:
    if not value.strip():
        raise serializers.ValidationError("This field may not be blank.")
