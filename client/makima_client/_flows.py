"""The client's behaviour once, for both clients: each flow is a generator that yields a
`Call` (an HTTP request) or a `Sleep` and is sent back the `httpx.Response` or the transport
exception. `MakimaClient` drives the flows with blocking I/O, `AsyncMakimaClient` with
asyncio, so retries, backoff, re-polls and deadlines behave the same in both.

Retries: transport errors and 429/502/503/504 are retried with capped exponential backoff
and jitter, never sooner than the server's `Retry-After`, until the call's deadline
(`max_wait`), or, without one, until a streak of failures has lasted `RetryPolicy.budget`.
Every retry of an ask or an order resends the same `Idempotency-Key`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import httpx

from makima_client.errors import MakimaError, Unavailable, error_from_body
from makima_client.models import EXPIRED, PENDING, Outcome, outcome_from_reply

logger = logging.getLogger("makima_client")

RETRY_STATUSES = frozenset({429, 502, 503, 504})
ASK_PATH = "/api/v1/mesh/supervisor/questions"


@dataclass(frozen=True)
class Call:
    """One HTTP request. `timeout` is the read timeout in seconds (None: the client's)."""

    method: str
    path: str
    json: Any = None
    params: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None


@dataclass(frozen=True)
class Sleep:
    seconds: float


Step = Call | Sleep
Reply = httpx.Response | Exception | None
Flow = Generator[Step, Reply, Any]


@dataclass(frozen=True)
class RetryPolicy:
    """How failed calls are retried: delay = min(cap, base × 2^attempt), jittered to
    between half and all of it, and never below the server's Retry-After."""

    base: float = 0.5
    cap: float = 10.0
    budget: float = 300.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        backoff = min(self.cap, self.base * (2**attempt))
        jittered = random.uniform(backoff / 2, backoff)
        return max(jittered, retry_after or 0.0)


class DeadlinePassed(Exception):
    """The call's deadline came while a request was still waiting for its reply."""


def retry_after_seconds(response: httpx.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


def error_from_response(response: httpx.Response) -> MakimaError:
    try:
        body = response.json()
    except ValueError:
        body = None
    return error_from_body(response.status_code, body, retry_after_seconds(response))


def read_timeout(deadline: float | None, default: float | None) -> float | None:
    """The read timeout of the next request: the client's, cut to the time left."""
    if deadline is None:
        return default
    left = max(0.05, deadline - time.monotonic())
    return left if default is None else min(default, left)


def send(
    call: Call, policy: RetryPolicy, *, deadline: float | None, default_timeout: float | None
) -> Generator[Step, Reply, httpx.Response]:
    """Send one call, retrying what may succeed later; return the first other reply."""
    attempt = 0
    streak_started = time.monotonic()
    while True:
        timeout = read_timeout(deadline, default_timeout)
        reply = yield Call(call.method, call.path, call.json, call.params, call.headers, timeout)
        retry_after: float | None = None
        if isinstance(reply, httpx.Response):
            if reply.status_code not in RETRY_STATUSES:
                return reply
            error = error_from_response(reply)
            retry_after = retry_after_seconds(reply)
        elif isinstance(reply, httpx.TimeoutException) and deadline is not None:
            if time.monotonic() >= deadline - 0.01:
                raise DeadlinePassed
            error = Unavailable(f"the server did not answer in time ({type(reply).__name__})")
            error.code = "UNREACHABLE"
        elif isinstance(reply, httpx.TransportError):
            error = Unavailable(f"cannot reach the server ({type(reply).__name__})")
            error.code = "UNREACHABLE"
        elif isinstance(reply, Exception):
            raise reply
        else:  # pragma: no cover - the drivers always send a reply
            raise RuntimeError("no reply")
        wait = policy.delay(attempt, retry_after)
        limit = deadline if deadline is not None else streak_started + policy.budget
        if time.monotonic() + wait > limit:
            raise error
        logger.info("%s %s: %s; retrying in %.2f s", call.method, call.path, error.code, wait)
        yield Sleep(wait)
        attempt += 1


def checked(response: httpx.Response, *, accept: tuple[int, ...] = ()) -> Any:
    """The reply's JSON body; an error reply raises its MakimaError."""
    if response.is_success or response.status_code in accept:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise MakimaError(
                "the server's reply is not JSON", code="BAD_REPLY", status=response.status_code
            ) from exc
    raise error_from_response(response)


def request(
    call: Call, policy: RetryPolicy, default_timeout: float | None, *, budget: float | None = None
) -> Flow:
    """One call with retries; its JSON body."""
    deadline = time.monotonic() + budget if budget is not None else None
    response = yield from send(call, policy, deadline=deadline, default_timeout=default_timeout)
    return checked(response)


def wait_flow(
    question_id: str,
    headers: dict[str, str],
    policy: RetryPolicy,
    default_timeout: float | None,
    *,
    deadline: float | None,
    multi_select: bool | None = None,
    idempotency_key: str | None = None,
) -> Flow:
    """Poll until the question settles or the deadline passes (then it is still pending).

    A poll answers 404 for a question that expired (its time to live, or the auto
    timeout), so a 404 here ends the wait as expired.
    """
    pending = Outcome(question_id, PENDING, idempotency_key=idempotency_key)
    call = Call("GET", f"{ASK_PATH}/{question_id}/poll", headers=headers)
    while deadline is None or time.monotonic() < deadline:
        try:
            response = yield from send(
                call, policy, deadline=deadline, default_timeout=default_timeout
            )
        except DeadlinePassed:
            return pending
        if response.status_code == 404:
            message = error_from_response(response).message
            return Outcome(question_id, EXPIRED, reason=message, idempotency_key=idempotency_key)
        outcome = outcome_from_reply(
            checked(response), multi_select=multi_select, idempotency_key=idempotency_key
        )
        if outcome.settled:
            return outcome
    return pending


def ask_flow(
    body: dict[str, Any],
    headers: dict[str, str],
    policy: RetryPolicy,
    default_timeout: float | None,
    *,
    max_wait: float | None,
    idempotency_key: str,
) -> Flow:
    """Ask; a blocking ask re-polls after stillPending until settled or `max_wait`."""
    deadline = time.monotonic() + max_wait if max_wait is not None else None
    multi_select = bool(body.get("multiSelect"))
    call = Call(
        "POST", ASK_PATH, json=body, headers={**headers, "Idempotency-Key": idempotency_key}
    )
    try:
        response = yield from send(call, policy, deadline=deadline, default_timeout=default_timeout)
    except DeadlinePassed:
        return Outcome(None, PENDING, idempotency_key=idempotency_key)
    outcome = outcome_from_reply(
        checked(response, accept=(408,)), multi_select=multi_select, idempotency_key=idempotency_key
    )
    if outcome.settled or body.get("nonBlocking") or outcome.question_id is None:
        return outcome
    result: Outcome = yield from wait_flow(
        outcome.question_id,
        headers,
        policy,
        default_timeout,
        deadline=deadline,
        multi_select=multi_select,
        idempotency_key=idempotency_key,
    )
    return result
