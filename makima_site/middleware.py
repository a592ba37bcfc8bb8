import os

from django.conf import settings

from makima_site.errors import json_error


def _spooled_body_size(request) -> int | None:
    """The size of a body that came without Content-Length (chunked), when the server has
    already buffered it: Django's ASGI handler spools the whole body to a file before any
    middleware runs, so its size is known without reading it."""
    stream = getattr(request, "_stream", None)
    if stream is None or not hasattr(stream, "seek") or not hasattr(stream, "tell"):
        return None
    try:
        position = stream.tell()
        size = stream.seek(0, os.SEEK_END)
        stream.seek(position)
    except (OSError, ValueError):
        return None
    return size


class BodySizeLimitMiddleware:
    """Refuse bodies over MAX_REQUEST_BODY_BYTES with 413 in the error contract's shape,
    whether they declare their length or arrive chunked."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        length = request.META.get("CONTENT_LENGTH")
        if length:
            try:
                size = int(length)
            except ValueError:
                return json_error("BAD_REQUEST", "Content-Length must be a whole number.", 400)
        else:
            size = _spooled_body_size(request) or 0
        if size > settings.MAX_REQUEST_BODY_BYTES:
            return json_error(
                "PAYLOAD_TOO_LARGE",
                f"The request body is larger than {settings.MAX_REQUEST_BODY_BYTES} bytes "
                "(1 MiB); send less.",
                413,
            )
        return self.get_response(request)
