"""The two waiting supervisor endpoints, ask and poll, as Channels HTTP consumers.

Why consumers and not DRF/Django views: a Django async view keeps an idle OS thread per
in-flight request, so 5,000 blocked asks would be 5,000 threads (DESIGN.md §3). These
consumers are routed ahead of Django (makima_site/asgi.py) and wait in the wake hub
(mesh/wakeups.py) with no thread, no database connection and no polling loop.

Shape of a request: every database step is ONE sync function run in a worker thread that
closes its connection in that same thread before returning (`_db_step`), so nothing holds a
connection while waiting. The wait runs as its own asyncio task: AsyncHttpConsumer handles
one message at a time, so waiting inside handle() would leave `http.disconnect` unread until
the wait ended. The disconnect handler cancels the task instead, and the wait's `finally`
removes its wake registration.

The timeout policy of an ask (DESIGN.md §2; waits read from settings at request time):
- nonBlocking → 200 at once, response null;
- phaseguard, or a semi-auto/manual directive → wait MESH_BLOCK_WAIT_SECONDS, then 200
  stillPending (the question stays pending; the client re-polls);
- an auto directive → wait MESH_AUTO_TIMEOUT_SECONDS, then withdraw the question and answer
  408 timedOut — unless an answer won the race, which is then returned with 200;
- any other mode → wait timeoutSeconds, then as for auto.
A poll waits MESH_POLL_WAIT_SECONDS for a pending question. A withdrawn question is 404 to a
poll, like an unknown one: it can no longer be answered. A client that hangs up leaves its
question as it was (pending), so it can re-poll.
"""

import asyncio
import contextlib
import functools
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.http import AsyncHttpConsumer
from django.conf import settings
from django.db import connection
from djangorestframework_camel_case.settings import api_settings as camel_settings
from djangorestframework_camel_case.util import underscoreize
from rest_framework import exceptions as drf_exceptions
from rest_framework import serializers as drf_serializers

from directives.models import Directive
from makima_site import throttles
from makima_site.errors import NotFound, api_exception_handler, error_body
from mesh import selectors, services, wakeups
from mesh.authentication import task_from_tool_key
from mesh.models import Question
from mesh.serializers import AskQuestionSerializer

logger = logging.getLogger(__name__)

TOOL_KEY_HEADER = b"x-makima-tool-key"
_GONE = "gone"  # the row no longer exists (its task was deleted)
_JSON_HEADERS = [
    (b"content-type", b"application/json"),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
]


@dataclass(frozen=True)
class Outcome:
    """What a waiter learns from the row: status and, once answered, the response."""

    question_id: uuid.UUID
    status: str
    response: str | None = None

    @property
    def settled(self) -> bool:
        return self.status != Question.Status.PENDING


@dataclass(frozen=True)
class AskPlan:
    outcome: Outcome
    non_blocking: bool
    phaseguard: bool
    reconcile_mode: str
    timeout_seconds: int


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    headers: tuple[tuple[bytes, bytes], ...] = ()


def _result(outcome: Outcome, *, timed_out: bool = False, still_pending: bool = False) -> dict:
    return {
        "questionId": str(outcome.question_id),
        "response": outcome.response if outcome.status == Question.Status.ANSWERED else None,
        "timedOut": timed_out,
        "stillPending": still_pending,
    }


# --- database steps: one sync function each, run in a worker thread ---------------------------
def _db_step(func):
    """Run `func` in the loop's worker pool and close its connection in that same thread.

    `sync_to_async(connection.close)` would close another thread's (unused) connection and
    leave this one open; with the pool, close() hands the connection back for the next step.
    thread_sensitive=False: steps of different requests run in parallel in the bounded
    default executor instead of queueing behind one shared thread.
    """

    @functools.wraps(func)
    def step(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        finally:
            connection.close()

    return database_sync_to_async(step, thread_sensitive=False)


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise drf_serializers.ValidationError(
            {"non_field_errors": [f"The body must be a JSON object: {exc}."]}
        ) from exc


@_db_step
def _begin_ask(raw_key: str | None, body: bytes, question_id: uuid.UUID) -> AskPlan:
    """Authenticate the task, validate the body, record the question under `question_id`."""
    task = task_from_tool_key(raw_key)
    wait = throttles.throttle_check(throttles.ASK_SCOPE, task.pk)
    if wait is not None:
        raise drf_exceptions.Throttled(wait)
    data = underscoreize(_parse_json(body), **camel_settings.JSON_UNDERSCOREIZE)
    serializer = AskQuestionSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    question = services.question_ask(
        task=task, question_id=question_id, **serializer.validated_data
    )
    directive = task.directive
    return AskPlan(
        outcome=Outcome(question.id, question.status),
        non_blocking=question.non_blocking,
        phaseguard=question.phaseguard,
        reconcile_mode=directive.reconcile_mode if directive else Directive.ReconcileMode.AUTO,
        timeout_seconds=question.timeout_seconds,
    )


@_db_step
def _begin_poll(raw_key: str | None, question_id: uuid.UUID | None) -> Outcome:
    """Authenticate the task and read its question; anything else is 404."""
    task = task_from_tool_key(raw_key)
    question = (
        selectors.question_for_task(task=task, question_id=question_id) if question_id else None
    )
    if question is None or question.status == Question.Status.EXPIRED:
        raise NotFound("Question not found.")
    return Outcome(question.id, question.status, question.response)


def _woken_outcome(question_id: uuid.UUID, wake: dict[str, Any]) -> Outcome | None:
    """The outcome a wake carries (mesh.events), or None to read the row instead."""
    status = wake.get("status")
    if status not in (Question.Status.ANSWERED, Question.Status.EXPIRED):
        return None
    return Outcome(question_id, status, wake.get("response"))


@_db_step
def _read_outcome(question_id: uuid.UUID) -> Outcome:
    row = selectors.question_outcome(question_id=question_id)
    if row is None:
        return Outcome(question_id, _GONE)
    return Outcome(question_id, *row)


@_db_step
def _withdraw(question_id: uuid.UUID) -> Outcome:
    """Expire the pending question; if an answer won the race, return that answer."""
    if services.question_expire(question_id=question_id):
        return Outcome(question_id, Question.Status.EXPIRED)
    row = selectors.question_outcome(question_id=question_id)
    return Outcome(question_id, *row) if row else Outcome(question_id, _GONE)


# --- the policy ------------------------------------------------------------------------------
def _ask_wait(plan: AskPlan) -> tuple[float, bool]:
    """(seconds to wait, withdraw at the deadline?) per DESIGN.md §2."""
    modes = Directive.ReconcileMode
    if plan.phaseguard or plan.reconcile_mode in (modes.SEMI_AUTO, modes.MANUAL):
        return float(settings.MESH_BLOCK_WAIT_SECONDS), False
    if plan.reconcile_mode == modes.AUTO:
        return float(settings.MESH_AUTO_TIMEOUT_SECONDS), True
    return float(max(1, plan.timeout_seconds)), True


async def ask(raw_key: str | None, body: bytes) -> Reply:
    # The id is chosen here so the waiter registers before the row exists: creating the row
    # is then the "read after register", and no wake can slip between the two.
    question_id = uuid.uuid4()
    plan: AskPlan | None = None
    seconds, withdraw = 0.0, False

    async def begin() -> Outcome:
        nonlocal plan, seconds, withdraw
        plan = await _begin_ask(raw_key, body, question_id)
        if not plan.non_blocking:
            seconds, withdraw = _ask_wait(plan)
        return plan.outcome

    outcome = await wakeups.wait_until_settled(
        question_id,
        timeout=lambda _first: seconds,
        read=functools.partial(_read_outcome, question_id),
        first_read=begin,
        from_wake=functools.partial(_woken_outcome, question_id),
    )
    if plan.non_blocking:
        return Reply(200, _result(plan.outcome))
    if outcome.status == Question.Status.PENDING:
        if not withdraw:
            return Reply(200, _result(outcome, still_pending=True))
        outcome = await _withdraw(question_id)
    if outcome.status == Question.Status.ANSWERED:
        return Reply(200, _result(outcome))
    if outcome.status == Question.Status.EXPIRED:
        return Reply(408, _result(outcome, timed_out=True))
    raise NotFound("Question not found.")


async def poll(raw_key: str | None, raw_question_id: str) -> Reply:
    try:
        question_id = uuid.UUID(raw_question_id)
    except ValueError:
        await _begin_poll(raw_key, None)  # 401/403/404 for the caller, as for any other id
        raise NotFound("Question not found.") from None
    outcome = await wakeups.wait_until_settled(
        question_id,
        timeout=float(settings.MESH_POLL_WAIT_SECONDS),
        read=functools.partial(_read_outcome, question_id),
        first_read=functools.partial(_begin_poll, raw_key, question_id),
        from_wake=functools.partial(_woken_outcome, question_id),
    )
    if outcome.status == Question.Status.ANSWERED:
        return Reply(200, _result(outcome))
    if outcome.status == Question.Status.PENDING:
        return Reply(200, _result(outcome, still_pending=True))
    raise NotFound("Question not found.")


# --- the consumers ---------------------------------------------------------------------------
class WaitingJsonConsumer(AsyncHttpConsumer):
    """A JSON endpoint whose reply is computed by a cancellable task (see the module doc)."""

    method = "GET"
    # Waiters use the process's wake hub, never a channel of their own: an alias that is not
    # configured makes AsyncConsumer skip the per-request channel and its receive().
    channel_layer_alias = "mesh.waiting-endpoints-use-the-wake-hub"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._reply_task: asyncio.Task | None = None
        self._body_size = 0

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Also when the server cancels this application instance (shutdown).
            await self.disconnect()

    async def dispatch(self, message):
        # AsyncConsumer.dispatch first closes old connections in the one shared sync thread
        # for every message; our database steps close their own, so skip that thread hop.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def http_request(self, message):
        if self._reply_task is not None:
            return  # the reply is decided (e.g. 413); ignore the rest of the body
        if self.scope["method"] != self.method:
            self._start(self._refuse_method)
            return
        chunk = message.get("body", b"")
        self._body_size += len(chunk)
        if self._body_size > settings.MAX_REQUEST_BODY_BYTES or self._declared_too_large():
            self._start(self._refuse_size)
            return
        self.body.append(chunk)
        if not message.get("more_body"):
            await self.handle(b"".join(self.body))

    async def handle(self, body):
        """Start the reply as a task and return, so http.disconnect can still be received."""
        self._start(functools.partial(self.reply, body))

    async def reply(self, body: bytes) -> Reply:
        raise NotImplementedError

    async def http_disconnect(self, message):
        await self.disconnect()
        raise StopConsumer()

    async def disconnect(self):
        """The client went away (or the reply was sent): end a wait still running."""
        task = self._reply_task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def tool_key(self) -> str | None:
        for name, value in self.scope.get("headers", ()):
            if name == TOOL_KEY_HEADER:
                return value.decode("latin-1").strip()
        return None

    def _declared_too_large(self) -> bool:
        for name, value in self.scope.get("headers", ()):
            if name == b"content-length":
                try:
                    return int(value) > settings.MAX_REQUEST_BODY_BYTES
                except ValueError:
                    return False
        return False

    def _start(self, make_reply: Callable[[], Awaitable[Reply]]) -> None:
        self.body = []
        self._reply_task = asyncio.get_running_loop().create_task(self._send_reply(make_reply))

    async def _send_reply(self, make_reply: Callable[[], Awaitable[Reply]]) -> None:
        # Failed authentications per client address, as AuthFailureThrottleMiddleware counts
        # them for Django's views (which these consumers bypass): refused before the key is
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
        await self.send_response(
            reply.status, payload, headers=[*_JSON_HEADERS, length, *reply.headers]
        )

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


class AskQuestionConsumer(WaitingJsonConsumer):
    """POST /api/v1/mesh/supervisor/questions — ask the owner and block per the policy."""

    method = "POST"

    async def reply(self, body: bytes) -> Reply:
        return await ask(self.tool_key(), body)


class PollQuestionConsumer(WaitingJsonConsumer):
    """GET /api/v1/mesh/supervisor/questions/{id}/poll — wait for an answer again."""

    method = "GET"

    async def reply(self, body: bytes) -> Reply:
        return await poll(self.tool_key(), self.scope["url_route"]["kwargs"]["question_id"])
