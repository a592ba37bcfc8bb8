import logging

from django.conf import settings

from makima_site.errors import database_unavailable_response, is_database_unavailable, json_error

logger = logging.getLogger(__name__)


class BodySizeLimitMiddleware:
    """Refuse bodies over MAX_REQUEST_BODY_BYTES with 413 in the error contract's shape,
    whether they declare their length or arrive chunked (without Content-Length)."""

    def __init__(self, get_response):
        self.get_response = get_response

    @staticmethod
    def _buffered_body_size(request) -> int:
        """Django's ASGI handler spools the whole body to a file before any middleware runs,
        so a chunked body's size is known without reading it."""
        stream = getattr(request, "_stream", None)
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
