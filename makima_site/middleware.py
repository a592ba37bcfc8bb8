from django.conf import settings

from makima_site.errors import json_error


class BodySizeLimitMiddleware:
    """Refuse bodies over MAX_REQUEST_BODY_BYTES with 413 in the error contract's shape."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            size = int(length)
        except ValueError:
            return json_error("BAD_REQUEST", "Content-Length must be a whole number.", 400)
        if size > settings.MAX_REQUEST_BODY_BYTES:
            return json_error(
                "PAYLOAD_TOO_LARGE",
                f"The request body is larger than {settings.MAX_REQUEST_BODY_BYTES} bytes.",
                413,
            )
        return self.get_response(request)
