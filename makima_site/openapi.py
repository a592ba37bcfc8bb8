"""OpenAPI post-processing: every operation documents the error contract's responses."""

from typing import Any

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every error response: a stable code and a human message.",
    "properties": {
        "code": {"type": "string", "pattern": "^[A-Z][A-Z_]*$", "example": "VALIDATION_ERROR"},
        "message": {"type": "string"},
        "details": {
            "type": "object",
            "description": "Field errors: camelCase field name → messages.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["code", "message"],
}

_ERRORS = {
    "400": "Invalid input (VALIDATION_ERROR with details, MALFORMED_REQUEST, BAD_REQUEST)",
    "401": "Missing, unknown or revoked credential, or the wrong kind (UNAUTHORIZED)",
    "403": "Not allowed (FORBIDDEN, NOT_DIRECTIVE_TASK)",
    "404": "No such object for this caller (NOT_FOUND)",
    "405": "Method not allowed (METHOD_NOT_ALLOWED)",
    "406": "Cannot answer in an accepted format (NOT_ACCEPTABLE)",
    "413": "Body over 1 MiB (PAYLOAD_TOO_LARGE)",
    "415": "Body is not JSON (UNSUPPORTED_MEDIA_TYPE)",
    "429": "Too many requests (THROTTLED)",
    "500": "Server error (INTERNAL_ERROR)",
}
_WITHOUT_BODY = {"413", "415"}
_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def add_error_responses(result, generator, request, public):
    """drf-spectacular POSTPROCESSING_HOOK: add the Error component and reference it from
    each operation's error statuses (an operation's own declarations win)."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in _METHODS:
                continue
            has_body = "requestBody" in operation
            responses = operation.setdefault("responses", {})
            for status, description in _ERRORS.items():
                if status in _WITHOUT_BODY and not has_body:
                    continue
                if status == "401" and not operation.get("security"):
                    continue
                responses.setdefault(status, {"description": description, "content": reference})
    return result
