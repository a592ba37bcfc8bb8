"""Shared pieces of the OpenAPI description: the error body every endpoint answers with,
and a postprocessing hook that documents the errors every operation can give.

- Every operation documents the errors the site can give it, in the contract's error shape
  (makima_site.errors): 401/403 where a credential is required, 400 and 415 where there is
  input, 404 everywhere (unknown ids, pages past the end), 406 (an Accept header nothing
  satisfies), 413 (body over the size limit), 429 (rate limits, with Retry-After) and 503
  (a dependency is down). An operation's own description of a code is kept. Operations
  served by the waiting endpoints document their own statuses; they only get 429.
"""

import re
from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from makima_site.idempotency import IDEMPOTENCY_HEADER, MAX_IDEMPOTENCY_KEY_LENGTH


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


def idempotency_key_parameter() -> OpenApiParameter:
    """The optional Idempotency-Key request header (makima_site/idempotency.py)."""
    return OpenApiParameter(
        name=IDEMPOTENCY_HEADER,
        location=OpenApiParameter.HEADER,
        required=False,
        type=str,
        description=(
            f"Optional, 1..{MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters (a UUID is a "
            "good key). Honoured per task, for the body it first came with."
        ),
    )


# The component ErrorBodySerializer renders as; defined here too for schemas without it.
ERROR_COMPONENT = "ErrorBody"
_ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error body: an UPPER_SNAKE code and a message for humans.",
    "properties": {
        "code": {"type": "string", "example": "VALIDATION_ERROR"},
        "message": {"type": "string", "example": "name: This field is required."},
        "details": {
            "type": "object",
            "description": "Field errors: camelCase field name → messages.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["code", "message"],
}
_HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
_DESCRIPTIONS = {
    "400": "The input is invalid (VALIDATION_ERROR, MALFORMED_REQUEST); nothing changed.",
    "401": "No valid credential for this endpoint (UNAUTHORIZED).",
    "403": "The credential may not do this (FORBIDDEN, NOT_DIRECTIVE_TASK, CSRF failure).",
    "404": "Nothing here for this caller (NOT_FOUND).",
    "406": "The Accept header asks for a type the API cannot give (NOT_ACCEPTABLE).",
    "413": "The body is over the size limit (PAYLOAD_TOO_LARGE).",
    "415": "The body's Content-Type is not JSON (UNSUPPORTED_MEDIA_TYPE).",
    "429": "Too many requests (THROTTLED); retry after Retry-After seconds.",
    "503": "A dependency is down (DB_UNAVAILABLE, SERVICE_UNAVAILABLE); retry later.",
}


def _error_response(code: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": _DESCRIPTIONS[code],
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}
        },
    }
    if code == "429":
        response["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "integer", "minimum": 1},
            }
        }
    return response


def _served_by_a_consumer(path: str) -> bool:
    """Whether Channels (mesh.routing), not Django, serves the path."""
    from mesh.routing import http_urlpatterns

    concrete = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path).lstrip("/")
    return any(pattern.pattern.match(concrete) for pattern in http_urlpatterns)


def _error_codes(path: str, operation: dict[str, Any]) -> list[str]:
    if _served_by_a_consumer(path):
        # The waiting endpoints document their own statuses (mesh.questions.schema); of the
        # site-wide ones only the rate limits reach them (makima_site.throttles).
        return ["429"]
    codes = ["404", "406", "413", "429", "503"]
    if operation.get("security"):
        codes += ["401", "403"]
    # A malformed id in the path is 404 (nothing there), not 400: only query parameters
    # and bodies can be invalid input.
    has_query = any(p.get("in") == "query" for p in operation.get("parameters", []))
    if has_query or operation.get("requestBody"):
        codes.append("400")
    if operation.get("requestBody"):
        codes.append("415")
    return sorted(codes)


def document_error_responses(result, generator, request, public):
    """POSTPROCESSING_HOOKS entry (see the module docstring)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(ERROR_COMPONENT, _ERROR_SCHEMA)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in _HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for code in _error_codes(path, operation):
                responses.setdefault(code, _error_response(code))
            if "429" in responses:
                # A view's own 429 (a limit of its own) is still told when to retry.
                responses["429"].setdefault("headers", _error_response("429")["headers"])
            operation["responses"] = dict(sorted(responses.items()))
    return result
