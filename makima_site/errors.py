"""The one error contract: every error body is {"code": "UPPER_SNAKE", "message": "..."}.

Services raise ApplicationError (or a subclass); views let it propagate; the DRF exception
handler below (and the plain-Django handlers for non-DRF paths) render it.
"""

import logging
import math
import re
import sys
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError as DjangoInterfaceError
from django.db import OperationalError as DjangoOperationalError
from django.http import Http404, JsonResponse
from djangorestframework_camel_case.util import camelize
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """An error the API reports to its caller in the contract's shape."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code = "BAD_REQUEST"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        details: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.details = details

    def body(self) -> dict[str, Any]:
        details = validation_details(self.details) if self.details else None
        return error_body(self.code, self.message, details)


class NotFound(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "NOT_FOUND"


class Forbidden(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "FORBIDDEN"


class Conflict(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "CONFLICT"


class Unauthorized(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "UNAUTHORIZED"


class ServiceUnavailable(ApplicationError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "SERVICE_UNAVAILABLE"


# The database could not be reached (stopped, restarting, pool exhausted): a transient
# condition the client should retry, never a 500. Django wraps psycopg's errors (and
# psycopg_pool's PoolTimeout, an OperationalError) in its own; code that talks to psycopg
# directly raises psycopg's.
_DB_UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    DjangoOperationalError,
    DjangoInterfaceError,
)
try:
    import psycopg

    _DB_UNAVAILABLE_ERRORS += (psycopg.OperationalError, psycopg.InterfaceError)
except ImportError:  # pragma: no cover - SQLite-only installs
    pass

DB_UNAVAILABLE_CODE = "DB_UNAVAILABLE"
DB_UNAVAILABLE_MESSAGE = "The database is unavailable right now; try again shortly."
DB_UNAVAILABLE_RETRY_AFTER = "1"


def is_database_unavailable(exc: BaseException) -> bool:
    return isinstance(exc, _DB_UNAVAILABLE_ERRORS)


# Lone surrogates cannot be encoded as UTF-8. A message may echo the client's input (DRF's
# '"x" is not a valid choice.'), so error text carries U+FFFD in their place.
_SURROGATES = re.compile("[\ud800-\udfff]")


def encodable(text: str) -> str:
    """`text` with any lone surrogate replaced by U+FFFD (so it encodes as UTF-8)."""
    return _SURROGATES.sub("\ufffd", text)


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": encodable(message)}
    if details:
        body["details"] = details
    return body


def validation_details(detail: Any) -> dict[str, list[str]]:
    """Flatten DRF's nested error detail into {camelCaseField: [messages]}."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                name = str(key) if key != "non_field_errors" else "nonFieldErrors"
                walk(f"{prefix}.{name}" if prefix else name, sub)
        elif isinstance(value, list) and value and not all(isinstance(item, str) for item in value):
            for index, sub in enumerate(value):
                if sub:
                    walk(f"{prefix}.{index}" if prefix else str(index), sub)
        elif isinstance(value, list):
            flat.setdefault(prefix or "nonFieldErrors", []).extend(encodable(str(v)) for v in value)
        else:
            flat.setdefault(prefix or "nonFieldErrors", []).append(encodable(str(value)))

    walk("", camelize(detail) if isinstance(detail, dict) else detail)
    return flat


def first_message(details: dict[str, list[str]]) -> str:
    for field, messages in details.items():
        if messages:
            return f"{field}: {messages[0]}" if field != "nonFieldErrors" else messages[0]
    return "The request is invalid."


_DRF_CODES: dict[type, tuple[str, str | None]] = {
    exceptions.ParseError: ("MALFORMED_REQUEST", None),
    exceptions.AuthenticationFailed: ("UNAUTHORIZED", None),
    exceptions.NotAuthenticated: ("UNAUTHORIZED", None),
    exceptions.PermissionDenied: ("FORBIDDEN", None),
    exceptions.NotFound: ("NOT_FOUND", None),
    exceptions.MethodNotAllowed: ("METHOD_NOT_ALLOWED", None),
    exceptions.NotAcceptable: ("NOT_ACCEPTABLE", None),
    exceptions.UnsupportedMediaType: ("UNSUPPORTED_MEDIA_TYPE", None),
    exceptions.Throttled: ("THROTTLED", None),
}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: render every error in the contract's shape."""
    # As DRF's own handler does: an error inside ATOMIC_REQUESTS rolls the request back.
    # (Imported here: rest_framework.views imports the authentication classes, which import
    # this module.)
    from rest_framework.views import set_rollback

    set_rollback()
    if isinstance(exc, ApplicationError):
        return Response(exc.body(), status=exc.status_code)
    if is_database_unavailable(exc):
        logger.warning("Database unavailable: %r", exc)
        return Response(
            error_body(DB_UNAVAILABLE_CODE, DB_UNAVAILABLE_MESSAGE),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": DB_UNAVAILABLE_RETRY_AFTER},
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("PAYLOAD_TOO_LARGE", "The request body is larger than 1 MiB."),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )

    if isinstance(exc, exceptions.ValidationError):
        details = validation_details(exc.detail)
        body = error_body("VALIDATION_ERROR", first_message(details), details)
        return Response(body, status=status.HTTP_400_BAD_REQUEST)

    if isinstance(exc, exceptions.APIException):
        code = "ERROR"
        for klass, (mapped, _) in _DRF_CODES.items():
            if isinstance(exc, klass):
                code = mapped
                break
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        headers = {}
        auth_header = getattr(exc, "auth_header", None)  # set by DRF's APIView on 401s
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
        wait = getattr(exc, "wait", None)  # Throttled's
        if wait is not None:
            headers["Retry-After"] = str(max(1, math.ceil(wait)))
        if isinstance(exc, exceptions.Throttled):
            message = throttled_message(wait)
        status_code = exc.status_code
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            status_code = status.HTTP_401_UNAUTHORIZED
        return Response(error_body(code, str(message)), status=status_code, headers=headers)

    logger.exception("Unhandled error in API view", exc_info=exc)
    return Response(
        error_body("INTERNAL_ERROR", "The server failed to handle this request; try again."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def throttled_message(wait: float | None) -> str:
    if wait is None:
        return "Too many requests; slow down and retry later."
    seconds = max(1, math.ceil(wait))
    return f"Too many requests; retry in {seconds} second{'s' if seconds != 1 else ''}."


def throttled_response(wait: float) -> JsonResponse:
    """429 THROTTLED with Retry-After, for code outside DRF views."""
    response = json_error("THROTTLED", throttled_message(wait), 429)
    response["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


def json_error(code: str, message: str, status_code: int, **extra: Any) -> JsonResponse:
    body = error_body(code, message)
    body.update(extra)
    return JsonResponse(body, status=status_code)


# Plain-Django handlers (urls.py): an unknown path or a crash outside DRF still answers in
# the contract's shape, and never with a stack trace.
def handler400(request, exception=None):
    return json_error("BAD_REQUEST", "The request could not be understood.", 400)


def handler403(request, exception=None):
    return json_error("FORBIDDEN", "You do not have permission to do this.", 403)


def handler404(request, exception=None):
    return json_error("NOT_FOUND", "Nothing exists at this address.", 404)


def database_unavailable_response() -> JsonResponse:
    response = json_error(DB_UNAVAILABLE_CODE, DB_UNAVAILABLE_MESSAGE, 503)
    response["Retry-After"] = DB_UNAVAILABLE_RETRY_AFTER
    return response


def handler500(request):
    # Called inside Django's `except` block: the exception that brought us here is known.
    exc = sys.exc_info()[1]
    if exc is not None and is_database_unavailable(exc):
        return database_unavailable_response()
    return json_error("INTERNAL_ERROR", "The server failed to handle this request; try again.", 500)
