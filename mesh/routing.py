"""Channels routes, mounted by makima_site/asgi.py ahead of Django.

http_urlpatterns: the two waiting supervisor endpoints (ask, poll) as AsyncHttpConsumers,
so a blocked request holds no thread. websocket_urlpatterns: the owners' live feed.
"""

from django.urls import path, re_path

from mesh.feed import QuestionFeedConsumer
from mesh.question_consumers import AskQuestionConsumer, PollQuestionConsumer

http_urlpatterns: list = [
    re_path(r"^api/v1/mesh/supervisor/questions/?$", AskQuestionConsumer.as_asgi()),
    re_path(
        r"^api/v1/mesh/supervisor/questions/(?P<question_id>[^/]+)/poll/?$",
        PollQuestionConsumer.as_asgi(),
    ),
]
websocket_urlpatterns: list = [
    path("ws/v1/mesh/questions/", QuestionFeedConsumer.as_asgi()),
]
