"""The two waiting supervisor endpoints, ask and poll, as plain ASGI applications.

Why not DRF/Django views: a Django async view keeps an idle OS thread per in-flight request,
so 5,000 blocked asks would be 5,000 threads (docs/architecture.md, "The wake"). These are
routed ahead of Django (makima_site/asgi.py) and wait in the wake hub with no thread, no
database connection and no polling loop. What they do is mesh.questions.waiting; this module
is the HTTP side: the method, the body and its size, the client hanging up.

The reply is computed by its own asyncio task while another one watches for
`http.disconnect`: a client that hangs up cancels the reply task, and the wait's `finally`
removes its wake registration. A client that hangs up leaves its question as it was
(pending), so it can re-poll.
"""

import asyncio
import contextlib
import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings
from rest_framework import exceptions as drf_exceptions

from makima_site import throttles
from makima_site.errors import api_exception_handler, error_body
from makima_site.idempotency import IDEMPOTENCY_HEADER
from mesh.credentials.authentication import TOOL_KEY_ASGI_HEADER
from mesh.questions import waiting
from mesh.questions.steps import Reply

IDEMPOTENCY_ASGI_HEADER = IDEMPOTENCY_HEADER.lower().encode("ascii")

_JSON_HEADERS = [
    (b"content-type", b"application/json"),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
]

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
MakeReply = Callable[[], Awaitable[Reply]]


class WaitingJsonEndpoint:
    """One request to a JSON endpoint whose reply may wait (see the module doc)."""

    method = "GET"

    def __init__(self, scope: Scope):
        self.scope = scope

    @classmethod
    def as_asgi(cls) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
        async def application(scope: Scope, receive: Receive, send: Send) -> None:
            await cls(scope).serve(receive, send)

        return application

    async def reply(self, body: bytes) -> Reply:
        raise NotImplementedError

    async def serve(self, receive: Receive, send: Send) -> None:
        make_reply = await self._read_request(receive)
        if make_reply is None:
            return  # the client hung up before its request was whole
        loop = asyncio.get_running_loop()
        replying = loop.create_task(self._send_reply(make_reply, send))
        hang_up = loop.create_task(_until_disconnect(receive))
        try:
            await asyncio.wait({replying, hang_up}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            # Also when the server cancels this application (shutdown): end a wait still
            # running; once the reply is sent, stop listening.
            for task in (replying, hang_up):
                task.cancel()
            for task in (replying, hang_up):
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _read_request(self, receive: Receive) -> MakeReply | None:
        """The reply to make once the body is in (or refused), or None on a hang-up."""
        if self.scope["method"] != self.method:
            return self._refuse_method
        if self._declared_too_large():
            return self._refuse_size
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            if message["type"] != "http.request":
                continue
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > settings.MAX_REQUEST_BODY_BYTES:
                return self._refuse_size
            chunks.append(chunk)
            if not message.get("more_body"):
                return functools.partial(self.reply, b"".join(chunks))

    def header(self, name: bytes) -> str | None:
        """A request header's value (`name` lowercase, as ASGI scopes carry them)."""
        for key, value in self.scope.get("headers", ()):
            if key == name:
                return bytes(value).decode("latin-1")
        return None

    def tool_key(self) -> str | None:
        value = self.header(TOOL_KEY_ASGI_HEADER)
        return None if value is None else value.strip()

    def _declared_too_large(self) -> bool:
        for name, value in self.scope.get("headers", ()):
            if name == b"content-length":
                try:
                    return int(value) > settings.MAX_REQUEST_BODY_BYTES
                except ValueError:
                    return False
        return False

    async def _send_reply(self, make_reply: MakeReply, send: Send) -> None:
        # Failed authentications per client address, as AuthFailureThrottleMiddleware counts
        # them for Django's views (which these endpoints bypass): refused before the key is
        # looked at once the address is over the limit; every 401 counts.
        address = throttles.scope_client_address(self.scope)
        try:
            wait = await throttles.aauth_failure_wait(address)
            if wait is not None:
                raise drf_exceptions.Throttled(wait)
            reply = await make_reply()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # rendered exactly as the DRF views render it
            response = api_exception_handler(exc, {})
            assert response is not None  # the handler renders every exception
            reply = Reply(
                response.status_code,
                response.data,
                tuple(
                    (name.lower().encode("latin-1"), value.encode("latin-1"))
                    for name, value in response.items()
                    if name.lower() != "content-type"
                ),
            )
        if reply.status == 401:
            await throttles.aauth_failure_record(address)
        payload = json.dumps(reply.body, ensure_ascii=False, separators=(",", ":")).encode()
        length = (b"content-length", str(len(payload)).encode("ascii"))
        await send(
            {
                "type": "http.response.start",
                "status": reply.status,
                "headers": [*_JSON_HEADERS, length, *reply.headers],
            }
        )
        await send({"type": "http.response.body", "body": payload, "more_body": False})

    async def _refuse_method(self) -> Reply:
        return Reply(
            405,
            error_body(
                "METHOD_NOT_ALLOWED",
                f"{self.scope['method']} is not allowed here; use {self.method}.",
            ),
            ((b"allow", self.method.encode("ascii")),),
        )

    async def _refuse_size(self) -> Reply:
        return Reply(
            413,
            error_body(
                "PAYLOAD_TOO_LARGE",
                f"The request body is larger than {settings.MAX_REQUEST_BODY_BYTES} bytes.",
            ),
        )


async def _until_disconnect(receive: Receive) -> None:
    """Read (and drop) whatever else the client sends until it hangs up."""
    while (await receive())["type"] != "http.disconnect":
        pass


class AskQuestionEndpoint(WaitingJsonEndpoint):
    """POST /api/v1/mesh/supervisor/questions — ask the owner and block per the policy."""

    method = "POST"

    async def reply(self, body: bytes) -> Reply:
        return await waiting.ask(self.tool_key(), body, self.header(IDEMPOTENCY_ASGI_HEADER))


class PollQuestionEndpoint(WaitingJsonEndpoint):
    """GET /api/v1/mesh/supervisor/questions/{id}/poll — wait for an answer again."""

    method = "GET"

    async def reply(self, body: bytes) -> Reply:
        question_id = self.scope["url_route"]["kwargs"]["question_id"]
        return await waiting.poll(self.tool_key(), question_id)
