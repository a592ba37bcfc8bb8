"""A request's `route` label: the URL pattern it matched, never its path (which carries ids).

Django's views report their pattern (RouteMiddleware, from request.resolver_match); the
plain-ASGI waiting endpoints and everything Django did not route are matched here.
"""

import functools
import re

from django.conf import settings
from django.urls import Resolver404, resolve

UNMATCHED = "unmatched"
_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


@functools.cache
def pretty(pattern: str) -> str:
    """'api/v1/mesh/questions/(?P<question_id>[^/]+)/answer$' -> '/api/v1/mesh/questions/
    {question_id}/answer' (Django's route strings, regex or path() style)."""
    text = _NAMED_GROUP.sub(r"{\1}", pattern)
    text = _CONVERTER.sub(r"{\1}", text)
    text = text.replace("^", "").replace("$", "").replace("/?", "").replace("\\.", ".")
    return "/" + text.lstrip("/")


def _waiting_patterns() -> list:
    from mesh.routing import http_urlpatterns

    return http_urlpatterns


def route_of(path: str) -> str:
    """The route of a path that no Django view reported (see the module doc)."""
    relative = path.lstrip("/")
    for pattern in _waiting_patterns():
        if pattern.pattern.match(relative):
            return pretty(str(pattern.pattern))
    static = "/" + settings.STATIC_URL.strip("/") + "/"
    if path.startswith(static):
        return static + "{path}"
    try:
        return pretty(resolve(path).route)
    except Resolver404:
        return UNMATCHED


class RouteMiddleware:
    """Django middleware: the view's URL pattern becomes the request's route."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        from makima_site.observability.context import note_route

        match = request.resolver_match
        if match is not None:
            note_route(pretty(match.route))
        return None
