"""Channels routes, mounted by makima_site/asgi.py ahead of Django.

http_urlpatterns: the two waiting supervisor endpoints (ask, poll), plain ASGI applications
so a blocked request holds no thread. websocket_urlpatterns: the owners' live feed.
"""

from typing import Any

from django.urls import path, re_path

from mesh.feed.consumers import QuestionFeedConsumer
from mesh.feed.pages import FEED_SOCKET_PATH
from mesh.questions.consumers import AskQuestionEndpoint, PollQuestionEndpoint

# Channels' URLRouter routes ASGI applications with Django's path(), which the stubs type
# for views only.
http_urlpatterns: list[Any] = [
    re_path(r"^api/v1/mesh/supervisor/questions/?$", AskQuestionEndpoint.as_asgi()),  # type: ignore[arg-type]
    re_path(
        r"^api/v1/mesh/supervisor/questions/(?P<question_id>[^/]+)/poll/?$",
        PollQuestionEndpoint.as_asgi(),  # type: ignore[arg-type]
    ),
]
websocket_urlpatterns: list[Any] = [
    path(FEED_SOCKET_PATH.lstrip("/"), QuestionFeedConsumer.as_asgi()),
]
