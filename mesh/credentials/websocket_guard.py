"""The checks a websocket handshake passes before anyone is authenticated.

1. The Origin rule, by the kind of credential the socket will use:
   - A socket authenticated by the browser's session cookie (no "makima.bearer" subprotocol)
     must come from a page of this site: its Origin must be exactly the site's own
     scheme://host[:port] (the Host header, which must be in ALLOWED_HOSTS; https when the
     handshake came over TLS or through a proxy that says so in SECURE_PROXY_SSL_HEADER), or
     one of CSRF_TRUSTED_ORIGINS. The same rule as Django's CSRF check of an unsafe request,
     port included: a page on http://localhost:9999 cannot use the cookie of a site on :8000.
   - A socket that offers an API token as a subprotocol carries no ambient credential, so a
     program needs no Origin at all; a token socket that does send one (a browser) must pass
     the same rule, so a foreign page cannot drive it either.
   A refused Origin closes the handshake before it is accepted: the client gets HTTP 403.
2. The failed-authentication lockout: an address over the `auth_failure` limit (the one
   HTTP requests count against, makima_site/throttles.py) is accepted and closed with 4429
   at once, before any credential is looked at. A bad token offered on a socket counts one
   failure (mesh/credentials/websocket.py records it).
"""

from typing import Any

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

from makima_site import throttles
from mesh.credentials.websocket import BEARER_SUBPROTOCOL

# The feed's close code for "too many" (mesh/feed/consumers.py CLOSE_RATE_LIMITED).
CLOSE_LOCKED_OUT = 4429
# Django's own hosts when DEBUG is on and ALLOWED_HOSTS is empty (HttpRequest.get_host).
_DEBUG_HOSTS = [".localhost", "127.0.0.1", "[::1]"]


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _is_secure(scope: dict[str, Any]) -> bool:
    if scope.get("scheme") == "wss":
        return True
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy_header:
        meta_name, secure_value = proxy_header
        name = meta_name.removeprefix("HTTP_").lower().replace("_", "-").encode("latin-1")
        value = _header(scope, name)
        return value is not None and value.split(",", 1)[0].strip() == secure_value
    return False


def site_origin(scope: dict[str, Any]) -> str | None:
    """scheme://host[:port] of the site the handshake was addressed to, or None when its
    Host header is missing or not in ALLOWED_HOSTS."""
    host = (_header(scope, b"host") or "").strip().lower()
    domain, _port = split_domain_port(host)
    allowed = settings.ALLOWED_HOSTS or (_DEBUG_HOSTS if settings.DEBUG else [])
    if not domain or not validate_host(domain, allowed):
        return None
    return f"{'https' if _is_secure(scope) else 'http'}://{host}"


def _trusted(origin: str) -> bool:
    """Whether `origin` is one of CSRF_TRUSTED_ORIGINS (exactly, or by its *. wildcard)."""
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        trusted = trusted.lower()
        if origin == trusted:
            return True
        scheme, _, netloc = trusted.partition("://")
        if netloc.startswith("*."):
            origin_scheme, _, origin_netloc = origin.partition("://")
            if origin_scheme == scheme and is_same_domain(origin_netloc, netloc[1:]):
                return True
    return False


def origin_allowed(scope: dict[str, Any]) -> bool:
    """The Origin rule above for one handshake scope."""
    origin = _header(scope, b"origin")
    if origin is None:
        return BEARER_SUBPROTOCOL in (scope.get("subprotocols") or [])
    origin = origin.strip().lower()
    return origin == site_origin(scope) or _trusted(origin)


class WebsocketOriginGuard:
    """Refuse (403) a handshake whose Origin breaks the rule above."""

    def __init__(self, app: Any):
        self.app = app
        self.denier = WebsocketDenier.as_asgi()

    async def __call__(self, scope, receive, send):
        if scope.get("type") == "websocket" and not origin_allowed(scope):
            return await self.denier(scope, receive, send)
        return await self.app(scope, receive, send)


class AuthFailureLockout:
    """Close the socket of an address locked out for failed authentications with 4429,
    before authentication runs."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope.get("type") == "websocket":
            wait = await throttles.aauth_failure_wait(throttles.scope_client_address(scope))
            if wait is not None:
                return await _accept_and_close(scope, receive, send, CLOSE_LOCKED_OUT)
        return await self.app(scope, receive, send)


async def _accept_and_close(scope, receive, send, code: int) -> None:
    """A custom close code needs an accepted socket; nothing is sent in between."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    offered = scope.get("subprotocols") or []
    subprotocol = BEARER_SUBPROTOCOL if BEARER_SUBPROTOCOL in offered else None
    await send({"type": "websocket.accept", "subprotocol": subprotocol})
    await send({"type": "websocket.close", "code": code})
    while (await receive())["type"] != "websocket.disconnect":
        pass
