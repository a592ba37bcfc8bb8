"""ASGI entry: HTTP (observed: makima_site/observability/asgi.py) goes to the waiting
endpoints (plain ASGI applications) first, then to Django; websockets go through the Origin
rule, the failed-authentication lockout and authentication to the URL router."""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "makima_site.settings")

from makima_site.asgi_handler import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import re_path  # noqa: E402

from makima_site.asgi_security import SecurityHeadersMiddleware  # noqa: E402
from makima_site.body_limit import BodyLimitMiddleware, install_daphne_body_limit  # noqa: E402
from makima_site.daphne_ws import install_daphne_close_codes  # noqa: E402
from makima_site.loops import bind_server_loop  # noqa: E402
from makima_site.observability.asgi import ObservabilityMiddleware  # noqa: E402
from mesh.credentials.websocket import TokenSubprotocolAuthMiddleware  # noqa: E402
from mesh.credentials.websocket_guard import (  # noqa: E402
    AuthFailureLockout,
    WebsocketOriginGuard,
)
from mesh.questions.sweeper import ensure_sweeper  # noqa: E402
from mesh.routing import http_urlpatterns, websocket_urlpatterns  # noqa: E402

# Bodies over the limit are refused as they arrive, not after daphne spooled them
# (makima_site/body_limit.py).
install_daphne_body_limit()
# ...and the feed's 1013 (Redis unreachable) reaches the client (makima_site/daphne_ws.py).
install_daphne_close_codes()

# bind_server_loop: services called from a request's worker thread hand their after-commit
# publishes to this loop (mesh.events.publisher); each process also sweeps expired questions.
application = bind_server_loop(
    on_request=ensure_sweeper,
    app=ProtocolTypeRouter(
        {
            # Request ids, metrics and access lines for every request; security headers
            # also on the waiting endpoints' responses, which bypass Django's middleware.
            "http": ObservabilityMiddleware(
                SecurityHeadersMiddleware(
                    # An ASGI app in Django's re_path(), as Channels' URLRouter takes it.
                    # (The waiting endpoints limit their bodies themselves.)
                    URLRouter(
                        [*http_urlpatterns, re_path(r"", BodyLimitMiddleware(django_asgi_app))]  # type: ignore[arg-type]
                    )
                )
            ),
            # The Origin rule and the failed-authentication lockout come before any
            # credential is looked at (mesh/credentials/websocket_guard.py).
            "websocket": WebsocketOriginGuard(
                AuthFailureLockout(
                    AuthMiddlewareStack(
                        TokenSubprotocolAuthMiddleware(URLRouter(websocket_urlpatterns))
                    )
                )
            ),
        }
    ),
)

# Everything loaded so far (Django, DRF, the apps, the URL conf) lives as long as the process:
# move it out of the collector's generations, so a full collection only scans what requests
# and sockets allocate, and collect less often (settings.GC_THRESHOLDS). With 1,000 feed
# sockets on the 2-core VM the defaults (700, 10, 10) paused the event loop for a full
# collection (75-125 ms) about every 2 s under load: the cross-process push p99 was
# 53-64 ms; with the project's thresholds 43.8 ms. Much higher ones kept garbage too long
# (RSS grew with every 10,000 timed-out asks): bench/README.md.
gc.collect()
gc.freeze()
gc.set_threshold(*settings.GC_THRESHOLDS)
