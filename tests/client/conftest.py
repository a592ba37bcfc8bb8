"""A real daphne for the client's tests, and helpers to act as the owner over REST.

One server per test module (starting daphne costs about a second); each test makes its own
owner, directive and task on the test database, which the server shares. Its waits are
tiny, so a blocking ask returns stillPending after 0.3 s and the client re-polls.
"""

import contextlib
import io
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
from django.conf import settings
from makima_client.cli import main

from tests import factories
from tests.live_daphne import DaphneServer, test_database_env

MAKIMA = str(Path(sys.executable).parent / "makima")
SERVER_WAITS = {
    "MESH_BLOCK_WAIT_SECONDS": "0.3",
    "MESH_POLL_WAIT_SECONDS": "0.3",
    "MESH_AUTO_TIMEOUT_SECONDS": "0.3",
    "MESH_EXPIRE_SWEEP_SECONDS": "0",
}


def server_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        **test_database_env(),
        "REDIS_URL": settings.REDIS_URL,
        "DB_POOL_MIN_SIZE": "1",
        "DB_POOL_MAX_SIZE": "4",
        "DEBUG": "true",
        "PYTHONUNBUFFERED": "1",
        **SERVER_WAITS,
        **extra,
    }


@pytest.fixture(scope="module")
def server(request, django_db_setup, django_db_blocker) -> Iterator[DaphneServer]:
    with django_db_blocker.unblock():
        env = server_env()
    started = DaphneServer(request.module.__name__.rpartition(".")[2], env)
    yield started
    started.stop()


@dataclass
class Mesh:
    """An owner with a token, and a directive task with its tool key, on the live server."""

    url: str
    token: str
    tool_key: str
    owner: Any

    def owner_get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, headers={"Authorization": f"Bearer {self.token}"})

    def owner_post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(
            self.url + path, json=body, headers={"Authorization": f"Bearer {self.token}"}
        )

    def wait_for_question(self, timeout: float = 10) -> dict[str, Any]:
        """The owner's first pending question, once the task's ask has created it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            items = self.owner_get("/api/v1/mesh/questions").json()
            if items:
                return items[0]
            time.sleep(0.05)
        raise AssertionError("no question appeared")

    def settle_later(
        self, action: str, body: dict[str, Any], after: threading.Event | None = None
    ) -> threading.Thread:
        """In the background: wait for the question (and for `after`, when given), then
        answer or decline it over REST."""

        def run() -> None:
            question = self.wait_for_question()
            if after is not None:
                assert after.wait(30), "the event to settle after never came"
            reply = self.owner_post(
                f"/api/v1/mesh/questions/{question['questionId']}/{action}", body
            )
            assert reply.status_code == 200, reply.text

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run `makima` in this process (makima_client.cli.main) against the server, with
        the configuration in the environment; not thread-safe (it swaps sys.std*)."""
        environment = {
            "MAKIMA_URL": self.url,
            "MAKIMA_TOOL_KEY": self.tool_key,
            "MAKIMA_TOKEN": self.token,
        }
        out, err = io.StringIO(), io.StringIO()
        with (
            mock.patch.dict(os.environ, environment),
            mock.patch("sys.stdin", io.StringIO(stdin or "")),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            try:
                status = main(list(args))
            except SystemExit as exit:  # argparse: usage errors and --help
                status = int(exit.code or 0)
        return subprocess.CompletedProcess(args, status, out.getvalue(), err.getvalue())

    def cli_process(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the installed `makima` command in a process of its own."""
        environment = {
            **os.environ,
            "MAKIMA_URL": self.url,
            "MAKIMA_TOOL_KEY": self.tool_key,
            "MAKIMA_TOKEN": self.token,
            **(env or {}),
        }
        return subprocess.run(
            [MAKIMA, *args], capture_output=True, text=True, env=environment, timeout=60
        )


@pytest.fixture
def make_mesh(server, transactional_db) -> Callable[..., Mesh]:
    def build(reconcile_mode: str = "manual") -> Mesh:
        owner = factories.make_owner()
        directive = factories.make_directive(owner, reconcile_mode=reconcile_mode)
        _, tool_key = factories.make_task(owner, directive)
        return Mesh(server.base_url, factories.make_token(owner), tool_key, owner)

    return build


@pytest.fixture
def mesh(make_mesh) -> Mesh:
    """A manual-mode directive: a blocking ask waits, answers stillPending, re-polls."""
    return make_mesh("manual")


def free_port_url() -> str:
    """A loopback URL where nothing listens."""
    from tests.live_daphne import free_port

    return f"http://127.0.0.1:{free_port()}"
