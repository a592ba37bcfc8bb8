"""The owners' live feed (`/ws/v1/mesh/questions/`) as an iterator of events, reconnecting
with backoff. Needs the `watch` extra (websockets). The token travels as the subprotocol
pair ["makima.bearer", token], never in the URL."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from makima_client._flows import RetryPolicy
from makima_client.errors import AuthError, MakimaError
from makima_client.models import Secret

logger = logging.getLogger("makima_client")
FEED_PATH = "/ws/v1/mesh/questions/"
REFUSED = 4401  # the server closes a socket whose credential fails or ends


def feed_url(base_url: str) -> str:
    scheme, _, rest = base_url.partition("://")
    return ("wss" if scheme == "https" else "ws") + "://" + rest.rstrip("/") + FEED_PATH


def _subprotocols(token: Secret | None) -> list[Any]:
    if token is None:
        raise AuthError("watching the feed needs an owner token", code="UNAUTHORIZED")
    return ["makima.bearer", token.reveal()]


def _origin(base_url: str) -> Any:
    """The server checks a socket's Origin against its allowed hosts, as for browsers."""
    return base_url.rstrip("/")


def _close_code(exc: Exception) -> int | None:
    """4401 for a refused credential; a handshake refused with 401/403 counts the same."""
    response = getattr(exc, "response", None)
    if getattr(response, "status_code", None) in (401, 403):
        return REFUSED
    code = getattr(getattr(exc, "rcvd", None), "code", None)
    return code if isinstance(code, int) else None


def _event(raw: str | bytes) -> dict[str, Any] | None:
    try:
        frame = json.loads(raw)
    except ValueError:
        return None
    return frame if isinstance(frame, dict) else None


def _import_websockets() -> Any:
    try:
        import websockets
    except ImportError as exc:  # pragma: no cover - the extra is missing
        raise MakimaError(
            "watching needs the websockets package: pip install 'makima-client[watch]'",
            code="MISSING_EXTRA",
        ) from exc
    return websockets


async def watch_async(
    base_url: str, token: Secret | None, policy: RetryPolicy
) -> AsyncIterator[dict[str, Any]]:
    """Each frame the server sends (snapshot first on every connection, then events)."""
    _import_websockets()
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidHandshake

    attempt = 0
    while True:
        try:
            async with connect(
                feed_url(base_url), subprotocols=_subprotocols(token), origin=_origin(base_url)
            ) as socket:
                async for raw in socket:
                    attempt = 0
                    event = _event(raw)
                    if event is not None:
                        yield event
                code = socket.close_code
        except (OSError, InvalidHandshake, ConnectionClosed) as exc:
            code = _close_code(exc)
            logger.info("feed connection lost (%s)", type(exc).__name__)
        if code == REFUSED:
            raise AuthError(
                "the feed refused the token or the origin", code="UNAUTHORIZED", status=401
            )
        await asyncio.sleep(policy.delay(attempt, None))
        attempt += 1


def watch_sync(
    base_url: str, token: Secret | None, policy: RetryPolicy
) -> Iterator[dict[str, Any]]:
    """The blocking twin of watch_async (websockets' threading client)."""
    _import_websockets()
    from websockets.exceptions import ConnectionClosed, InvalidHandshake
    from websockets.sync.client import connect

    attempt = 0
    while True:
        try:
            with connect(
                feed_url(base_url), subprotocols=_subprotocols(token), origin=_origin(base_url)
            ) as socket:
                for raw in socket:
                    attempt = 0
                    event = _event(raw)
                    if event is not None:
                        yield event
                code = socket.close_code
        except (OSError, InvalidHandshake, ConnectionClosed) as exc:
            code = _close_code(exc)
            logger.info("feed connection lost (%s)", type(exc).__name__)
        if code == REFUSED:
            raise AuthError(
                "the feed refused the token or the origin", code="UNAUTHORIZED", status=401
            )
        time.sleep(policy.delay(attempt, None))
        attempt += 1
