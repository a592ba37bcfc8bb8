import logging

from django.conf import settings
from django.http import HttpRequest

from makima_site import throttles
from makima_site.errors import (
    database_unavailable_response,
    handler404,
    is_database_unavailable,
    json_error,
    throttled_response,
)

API_PATH_PREFIX = "/api/v1/"
API_ROOT = "/api/"
logger = logging.getLogger(__name__)


class BodySizeLimitMiddleware:
    """Refuse bodies over MAX_REQUEST_BODY_BYTES with 413 in the error contract's shape,
    whether they declare their length or arrive chunked (without Content-Length)."""

    def __init__(self, get_response):
        self.get_response = get_response

    @staticmethod
    def _buffered_body_size(request: HttpRequest) -> int:
        """Django's ASGI handler spools the whole body to a file before any middleware runs,
        so a chunked body's size is known without reading it."""
        stream = getattr(request, "_stream", None)
        if stream is None:
            return 0
        try:
            position = stream.tell()
            size = stream.seek(0, 2)
            stream.seek(position)
        except (AttributeError, OSError, ValueError):
            return 0
        return size

    def __call__(self, request):
        length = request.META.get("CONTENT_LENGTH") or ""
        try:
            size = int(length) if length else self._buffered_body_size(request)
        except ValueError:
            return json_error("BAD_REQUEST", "Content-Length must be a whole number.", 400)
        if size > settings.MAX_REQUEST_BODY_BYTES:
            return json_error(
                "PAYLOAD_TOO_LARGE",
                f"The request body is larger than {settings.MAX_REQUEST_BODY_BYTES} bytes.",
                413,
            )
        return self.get_response(request)


class AuthFailureThrottleMiddleware:
    """Failed authentications per client address (the `auth_failure` throttle scope).

    Every 401 an API request gets counts against its address; once the address is over the
    limit, its API requests get 429 THROTTLED before any credential is looked at, so a
    guesser learns nothing more until the window ends. Successful requests count nothing.
    The waiting endpoints (ask, poll) apply the same rule themselves.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(API_PATH_PREFIX):
            return self.get_response(request)
        address = throttles.request_client_address(request)
        wait = throttles.auth_failure_wait(address)
        if wait is not None:
            return throttled_response(wait)
        response = self.get_response(request)
        if response.status_code == 401:
            throttles.auth_failure_record(address)
        return response


class ApiNotFoundMiddleware:
    """An unknown URL under /api/ answers 404 NOT_FOUND in the error shape also with DEBUG
    on, where Django renders its HTML debug page instead of handler404. Outside /api/
    Django's behaviour stays. Listed after CommonMiddleware, so APPEND_SLASH still
    redirects first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 404
            and request.path.startswith(API_ROOT)
            and response.get("Content-Type", "").startswith("text/html")
        ):
            return handler404(request)
        return response


class DatabaseUnavailableMiddleware:
    """A plain-Django view (admin, healthz neighbours) that cannot reach the database answers
    503 DB_UNAVAILABLE in the error shape instead of a 500 (or DEBUG's HTML traceback).

    DRF views and the waiting consumers get the same from makima_site.errors'
    api_exception_handler; handler500 covers errors raised in other middleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_database_unavailable(exception):
            logger.warning("Database unavailable: %r", exception)
            return database_unavailable_response()
        return None
