"""The owners' questions page: pending questions, live from the feed websocket."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

FEED_SOCKET_PATH = "/ws/v1/mesh/questions/"


@require_GET
@login_required
def questions_page(request: HttpRequest) -> HttpResponse:
    """The owner's pending questions, live from the feed websocket (mesh/feed/static/mesh/)."""
    return render(request, "mesh/questions.html", {"socket_path": FEED_SOCKET_PATH})
