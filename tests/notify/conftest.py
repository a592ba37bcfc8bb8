"""The notify tests' pieces: a local webhook receiver (aiohttp on 127.0.0.1) that verifies
every delivery with the standardwebhooks library, and the worker run in-process."""

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import pytest
from aiohttp import web
from django_tasks_db.management.commands import db_worker
from django_tasks_db.management.commands.db_worker import Worker
from standardwebhooks.webhooks import Webhook as Verifier

from tests.live_daphne import free_port


@pytest.fixture(autouse=True)
def _tiny_notify_times(settings):
    settings.WEBHOOK_RETRY_SCHEDULE = (0, 0, 0)
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    settings.WEBHOOK_LEASE_SECONDS = 30
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.NOTIFY_PUMP_SECONDS = 0
    settings.NOTIFY_REMINDER_SWEEP_SECONDS = 0
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool
    payload: dict[str, Any] | None


@dataclass
class Receiver:
    """Answers each POST with the next status of `statuses` (then `default_status`), and
    keeps what came, verified against `secrets` (any one suffices)."""

    port: int
    secrets: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    default_status: int = 200
    redirect_to: str | None = None
    delays: list[float] = field(default_factory=list)  # seconds before answering, per POST
    received: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def verify(self, headers: dict[str, str], body: bytes) -> dict[str, Any] | None:
        for secret in self.secrets:
            try:
                return Verifier(secret).verify(body, headers)
            except Exception:  # noqa: S112 - try the next secret
                continue
        return None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        payload = self.verify(headers, body)
        self.received.append(Received(headers, body, payload is not None, payload))
        # Each POST takes its status and delay as it arrives, so one still being delayed
        # (its sender killed meanwhile) never hands its status to the next.
        status = self.statuses.pop(0) if self.statuses else self.default_status
        if self.delays:
            await asyncio.sleep(self.delays.pop(0))
        if status in (301, 302, 307, 308):
            raise web.HTTPFound(self.redirect_to or "/elsewhere")
        return web.Response(status=status, text=json.dumps({"status": status}))

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rx = Receiver(port=free_port())
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", rx.handle)
    runner = web.AppRunner(app)
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", rx.port).start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started.wait(5)
    yield rx
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def run_worker() -> None:
    """Run every job that is due now, in this process, then return. (The worker closes
    "old" connections between jobs; the test's connection, inside its transaction, stays.)"""
    with mock.patch.object(db_worker, "close_old_connections", lambda: None):
        _run_batch()


def _run_batch() -> None:
    Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="pytest",
        excluded_queue_names=[],
    ).run()


@pytest.fixture
def worker():
    return run_worker
