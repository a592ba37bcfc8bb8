"""Channels routes, mounted by makima_site/asgi.py ahead of Django.

http_urlpatterns: the two waiting supervisor endpoints (ask, poll) as AsyncHttpConsumers,
so a blocked request holds no thread. websocket_urlpatterns: the owners' live feed.
"""

from django.urls import path

from mesh.feed import QuestionFeedConsumer

http_urlpatterns: list = []
websocket_urlpatterns: list = [
    path("ws/v1/mesh/questions/", QuestionFeedConsumer.as_asgi()),
]
