"""Channels routes, mounted by makima_site/asgi.py ahead of Django.

http_urlpatterns: the two waiting supervisor endpoints (ask, poll) as AsyncHttpConsumers,
so a blocked request holds no thread. websocket_urlpatterns: the owners' live feed.
"""

http_urlpatterns: list = []
websocket_urlpatterns: list = []
