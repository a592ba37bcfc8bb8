"""Websocket authentication by owner API token, sent as a subprotocol.

Browsers cannot set headers on a websocket handshake, and a token in the query string lands
in access logs, so programs offer the subprotocol pair ["makima.bearer", "<token>"]. This
middleware sits inside Channels' AuthMiddlewareStack (which has already put the session's
user in scope["user"]) and, when the pair is offered, replaces scope["user"] with the
token's owner, or with AnonymousUser when the token is unknown, revoked or is not an owner
token (a tool key, say): an explicit credential that fails never falls back to the session.
A token that fails counts one failed authentication of the client address.
The consumer echoes "makima.bearer" on accept, never the token. The token's id goes in
scope["makima_token_id"], so the socket can be closed when the token is revoked.
"""

from typing import Any

from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser

from makima_site import throttles
from makima_site.db import db_step
from makima_site.errors import Unauthorized
from mesh.credentials.authentication import TOOL_KEY_ASGI_HEADER, owner_from_token

BEARER_SUBPROTOCOL = "makima.bearer"
# scope key: the id of the API token that authenticated the socket (None: not by token).
TOKEN_ID_SCOPE_KEY = "makima_token_id"  # noqa: S105 (a dict key, not a secret)


def bearer_from_subprotocols(subprotocols: list[str]) -> str | None:
    """The token offered after "makima.bearer" ("" when the pair is incomplete), else None."""
    if BEARER_SUBPROTOCOL not in subprotocols:
        return None
    index = subprotocols.index(BEARER_SUBPROTOCOL)
    return subprotocols[index + 1].strip() if index + 1 < len(subprotocols) else ""


@db_step
def _owner_for_token(raw: str) -> tuple[Any, Any]:
    """(owner, token id) of the token, or (None, None)."""
    try:
        owner, token = owner_from_token(raw)
        return owner, token.pk
    except Unauthorized:
        return None, None


class TokenSubprotocolAuthMiddleware(BaseMiddleware):
    """Authenticate a websocket by the owner API token offered as a subprotocol."""

    async def __call__(self, scope, receive, send):
        scope = dict(scope)
        if scope.get("type") == "websocket":
            raw = bearer_from_subprotocols(list(scope.get("subprotocols") or []))
            if raw is not None:
                owner, token_id = await _owner_for_token(raw) if raw else (None, None)
                if owner is None:
                    # A bad token counts against the address's failed-authentication limit,
                    # as a 401 over HTTP does (mesh/credentials/websocket_guard.py checks it).
                    await throttles.aauth_failure_record(throttles.scope_client_address(scope))
                scope["user"] = owner if owner is not None else AnonymousUser()
                scope[TOKEN_ID_SCOPE_KEY] = token_id
            if any(name == TOOL_KEY_ASGI_HEADER for name, _ in scope.get("headers", [])):
                # A tool key never authenticates an owner endpoint, not even beside a session.
                scope["user"] = AnonymousUser()
        return await self.inner(scope, receive, send)
