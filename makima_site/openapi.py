"""Shared pieces of the OpenAPI description: the error body every endpoint answers with."""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="UPPER_SNAKE error code, e.g. VALIDATION_ERROR.")
    message = serializers.CharField(help_text="What went wrong and what to do about it.")
    details = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Field errors: camelCase field name → messages.",
    )


def error_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ErrorBodySerializer, description=description)
