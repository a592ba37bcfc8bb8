"""Helpers for the question backchannel tests: talk to the ASGI application in-process."""

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import HttpCommunicator
from django.db import connection

from makima_site.asgi import application
from mesh.questions import services as question_services
from mesh.wakeups.hub import close_hub, get_hub

ASK_PATH = "/api/v1/mesh/supervisor/questions"


def poll_path(question_id) -> str:
    return f"{ASK_PATH}/{question_id}/poll"


@dataclass
class AsgiResponse:
    status: int
    headers: dict[bytes, bytes]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _headers(tool_key: str | None, token: str | None, extra) -> list[tuple[bytes, bytes]]:
    headers = [(b"host", b"testserver"), (b"content-type", b"application/json")]
    if tool_key is not None:
        headers.append((b"x-makima-tool-key", tool_key.encode()))
    if token is not None:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    return headers + list(extra)


def communicator(
    method: str,
    path: str,
    *,
    body: Any = None,
    raw: bytes | None = None,
    tool_key: str | None = None,
    token: str | None = None,
    headers=(),
) -> HttpCommunicator:
    payload = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    return HttpCommunicator(
        application, method, path, body=payload, headers=_headers(tool_key, token, headers)
    )


async def finish(comm: HttpCommunicator, timeout: float = 5) -> AsgiResponse:
    """Read the reply, then hang up like a server does after the response."""
    reply = await comm.get_response(timeout=timeout)
    await comm.send_input({"type": "http.disconnect"})
    await comm.wait(timeout=1)
    return AsgiResponse(reply["status"], dict(reply["headers"]), reply["body"])


async def call(method: str, path: str, *, timeout: float = 5, **kwargs) -> AsgiResponse:
    return await finish(communicator(method, path, **kwargs), timeout=timeout)


async def ask(tool_key: str, body: dict, **kwargs) -> AsgiResponse:
    return await call("POST", ASK_PATH, body=body, tool_key=tool_key, **kwargs)


async def poll(tool_key: str, question_id, **kwargs) -> AsgiResponse:
    return await call("GET", poll_path(question_id), tool_key=tool_key, **kwargs)


def in_thread(func):
    """database_sync_to_async that closes its connection in the same thread.

    channels' communicators patch channels.db.close_old_connections to a no-op while they
    wait, which would leave a concurrent helper's connection checked out of the pool.
    """

    def run(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        finally:
            connection.close()

    return database_sync_to_async(run)


answer_async = in_thread(question_services.question_answer)


@pytest.fixture
async def hub():
    """The running loop's wake hub, closed after the test (its listener dies with the loop)."""
    yield get_hub()
    await close_hub()


async def until(condition, timeout: float = 2.0) -> None:
    """Let the loop run until `condition()` holds (a waiter registered, a task ended)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


async def asked_question_id(hub, timeout: float = 2.0) -> str:
    """The id of the one question a blocked ask is waiting on, once its row exists."""
    from mesh.models import Question

    exists = in_thread(lambda pk: Question.objects.filter(pk=pk).exists())
    await until(lambda: hub.future_count == 1, timeout)
    question_id = hub.waiting_question_ids[0]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await exists(question_id):
        assert loop.time() < deadline, "the question row never appeared"
        await asyncio.sleep(0.005)
    return question_id
