"""The WSGI entry, for comparison only: `bench/run.py throughput` runs the same project under
one gunicorn sync worker (`gunicorn makima_site.wsgi:application`) next to one daphne
process. Production serves ASGI (makima_site/asgi.py): under WSGI a blocked ask would hold
the worker for its whole wait.

Django serves everything it routes. The two waiting endpoints (ask, poll) are plain ASGI
applications with no Django view (mesh/routing.py), so they are served here through a2wsgi's
ASGI-to-WSGI bridge, on one event loop in a background thread of the worker.
"""

import os
import re
from collections.abc import Iterable
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "makima_site.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

django_wsgi_app = get_wsgi_application()

from a2wsgi import ASGIMiddleware  # noqa: E402
from channels.routing import URLRouter  # noqa: E402

from makima_site.loops import bind_server_loop  # noqa: E402
from mesh.routing import http_urlpatterns  # noqa: E402

_WAITING_PATH = re.compile(r"^/api/v1/mesh/supervisor/questions(/[^/]+/poll)?/?$")
_waiting_app = ASGIMiddleware(bind_server_loop(URLRouter(http_urlpatterns)))


def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    if _WAITING_PATH.match(environ.get("PATH_INFO", "")):
        return _waiting_app(environ, start_response)  # type: ignore[arg-type]
    return django_wsgi_app(environ, start_response)
