"""ASGI entry: HTTP goes to Django (the waiting question endpoints are Channels consumers
routed before it), websockets go through auth to the URL router."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "makima_site.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

application = ProtocolTypeRouter({"http": django_asgi_app})
