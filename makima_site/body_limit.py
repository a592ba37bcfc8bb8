"""The 1 MiB request body limit where the body arrives: in daphne, and at the ASGI layer.

Daphne (through Twisted) reads a request's whole body, into a temporary file past 100 kB,
before it calls the application at all: a client declaring 300 MiB made it write 300 MiB to
disk before any of our checks ran. So the limit is applied in three places, each covering
what the previous one cannot see:

- In daphne (`LimitedWebRequest`, installed by makima_site/asgi.py through
  `install_daphne_body_limit`): a declared `Content-Length` over the limit is answered 413
  as soon as the headers are in, before any of the body is read; a chunked body is counted
  as its chunks arrive and cut with 413 at the limit. Nothing past the limit is kept: the
  rest of the connection's bytes are discarded until the client closes (or after
  `LINGER_SECONDS`), so the client can read the 413 instead of a reset.
- At the ASGI layer (`BodyLimitMiddleware`, around Django's handler): for servers that
  stream the body to the application, the same two rules before Django spools it. The
  waiting endpoints (mesh/questions/consumers.py) apply them themselves.
- In Django (`makima_site.middleware.BodySizeLimitMiddleware`): for code that reaches
  Django without either (the test client).

Every refusal is 413 PAYLOAD_TOO_LARGE in the error contract's shape.
"""

import io
import json
import tempfile
from typing import Any

from daphne import http_protocol  # type: ignore[import-untyped]
from django.conf import settings

from makima_site.asgi_security import security_headers
from makima_site.errors import error_body

# After a 413, how long the server reads and drops what the client still sends before it
# closes the connection (a close with unread data resets it, and the client may never see
# the 413).
LINGER_SECONDS = 2.0
# A chunked body up to this size stays in memory (Twisted's threshold for declared ones).
_IN_MEMORY_BYTES = 100_000


def too_large_body() -> bytes:
    limit = settings.MAX_REQUEST_BODY_BYTES
    body = error_body("PAYLOAD_TOO_LARGE", f"The request body is larger than {limit} bytes.")
    return json.dumps(body, separators=(",", ":")).encode()


def declared_length(headers: Any) -> int | None:
    """The Content-Length of ASGI `headers` ((name, value) pairs, names lowercase), or None
    when absent or not a whole number (left to the application to refuse)."""
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


# --- daphne -----------------------------------------------------------------------------------
class LimitedWebRequest(http_protocol.WebRequest):
    """daphne's request, refusing a body over MAX_REQUEST_BODY_BYTES as it arrives."""

    content: Any
    _refused = False
    _received = 0
    _linger: Any = None

    def gotLength(self, length: int | None) -> None:  # noqa: N802 (Twisted's name)
        if length is not None and length > settings.MAX_REQUEST_BODY_BYTES:
            self.content = io.BytesIO()  # never written
            # Answer instead of Twisted's "100 Continue" (RFC 9110 10.1.1 allows it).
            self.requestHeaders.removeHeader(b"expect")
            self._refuse()
            return
        if length is None:  # chunked: at most the limit, kept in memory while small
            self.content = tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY_BYTES)  # noqa: SIM115
            return
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:  # noqa: N802
        if self._refused:
            return
        self._received += len(data)
        if self._received > settings.MAX_REQUEST_BODY_BYTES:
            self._refuse()
            return
        super().handleContentChunk(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:  # noqa: N802
        if not self._refused:
            super().requestReceived(command, path, version)

    def connectionLost(self, reason: Any) -> None:  # noqa: N802
        if self._linger is not None and self._linger.active():
            self._linger.cancel()
        super().connectionLost(reason)

    def _refuse(self) -> None:
        """Write the 413, stop reading the request, and close once the client is done."""
        self._refused = True
        channel = self.channel
        transport = channel.transport if channel is not None else None
        if transport is None:
            return
        body = too_large_body()
        scope = {
            "scheme": "https" if self.isSecure() else "http",
            "headers": [
                (name.lower(), value)
                for name, values in self.requestHeaders.getAllRawHeaders()
                for value in values
            ],
        }
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode("ascii")),
            (b"cache-control", b"no-store"),
            (b"connection", b"close"),
            *security_headers(scope),
        ]
        head = b"HTTP/1.1 413 Content Too Large\r\n" + b"".join(
            name + b": " + value + b"\r\n" for name, value in headers
        )
        transport.write(head + b"\r\n" + body)
        # From here on the connection's bytes are dropped unread (nothing is spooled), the
        # write side closes once the 413 is out, and the connection ends when the client
        # closes it or after LINGER_SECONDS.
        channel.dataReceived = _discard
        channel.persistent = False
        if hasattr(transport, "loseWriteConnection"):
            transport.loseWriteConnection()
        else:  # pragma: no cover - every TCP transport half-closes
            transport.loseConnection()
        self._linger = channel.callLater(LINGER_SECONDS, transport.abortConnection)


def _discard(data: bytes) -> None:
    """Bytes a refused request's client still sends."""


def install_daphne_body_limit() -> None:
    """Make daphne build LimitedWebRequest for every HTTP request (its HTTPFactory reads the
    module's WebRequest when it builds each connection's protocol)."""
    http_protocol.WebRequest = LimitedWebRequest


# --- ASGI -------------------------------------------------------------------------------------
Scope = dict[str, Any]


class BodyLimitMiddleware:
    """Wrap an ASGI HTTP application that reads the whole body before acting (Django's
    handler): refuse a declared length over the limit without reading, and cut a streamed
    body at the limit (the application sees a hang-up; the client gets the 413)."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = settings.MAX_REQUEST_BODY_BYTES
        length = declared_length(scope.get("headers", ()))
        if length is not None and length > limit:
            return await _send_too_large(scope, send)
        received = 0
        over = False
        started = False

        async def counting_receive() -> dict[str, Any]:
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counting_receive, tracking_send)
        if over and not started:
            await _send_too_large(scope, send)


async def _send_too_large(scope: Scope, send: Any) -> None:
    body = too_large_body()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode("ascii")),
                (b"cache-control", b"no-store"),
                *security_headers(scope),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
