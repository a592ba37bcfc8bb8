"""Real daphne processes on the test database, for end-to-end tests (browser, multi-process).

A test that uses them must be `django_db(transaction=True)`: the server is another process
and sees only committed rows. On SQLite the test database is a file (tests/conftest.py),
so the server opens the same file; on PostgreSQL it connects to the test database by name.
"""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from django.conf import settings
from django.db import connections

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
_START_TIMEOUT_SECONDS = 30


def off_thread(function, *args, **kwargs):
    """Run database code in a worker thread that closes its connections afterwards (a test
    that drives a server from a sync loop — Playwright's, say — cannot query on its own)."""

    def run():
        try:
            return function(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_database_env() -> dict[str, str]:
    """DATABASE_URL or SQLITE_PATH pointing a child process at the current test database."""
    db = connections["default"].settings_dict
    if db["ENGINE"] == "django.db.backends.postgresql":
        credentials = quote(db["USER"] or "", safe="")
        if db.get("PASSWORD"):
            credentials += ":" + quote(db["PASSWORD"], safe="")
        host = db.get("HOST") or "127.0.0.1"
        port = db.get("PORT") or 5432
        return {"DATABASE_URL": f"postgres://{credentials}@{host}:{port}/{db['NAME']}"}
    if connections["default"].is_in_memory_db():
        pytest.skip("the SQLite test database is in memory; a server process cannot open it")
    return {"DATABASE_URL": "", "SQLITE_PATH": str(db["NAME"])}


class DaphneServer:
    """One daphne process serving makima_site.asgi on a free loopback port."""

    def __init__(
        self,
        name: str,
        env: dict[str, str],
        args: tuple[str, ...] = (),
        healthy: tuple[int, ...] = (200,),
    ):
        """`args`: extra daphne options; `healthy`: the /healthz statuses that mean the
        server is up (503 too for a server started with Redis down, say)."""
        self.name = name
        self.env = env
        self.args = args
        self.healthy = healthy
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.log_path = ARTIFACTS / f"daphne-{name}.log"
        self._log = self.log_path.open("wb")
        self._spawn()

    def _spawn(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                *self.args,
                "makima_site.asgi:application",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_healthy()

    def restart(self) -> None:
        """Start the stopped server again on the same port (clients reconnect to it)."""
        self._log = self.log_path.open("ab")
        self._spawn()

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=2).status_code in self.healthy:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"daphne {self.name} did not become healthy; log:\n{self.log_path.read_text()[-4000:]}"
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


def server_env(**extra_env: str) -> dict[str, str]:
    """The environment of a daphne on the current test database (and Redis, if set)."""
    return {
        **os.environ,
        **test_database_env(),
        "REDIS_URL": settings.REDIS_URL,
        "DB_POOL_MIN_SIZE": "1",
        "DB_POOL_MAX_SIZE": "4",
        "DEBUG": "true",
        "PYTHONUNBUFFERED": "1",
        **extra_env,
    }


@pytest.fixture(scope="module")
def module_daphne(django_db_setup, django_db_blocker) -> Iterator:
    """One daphne for a whole test module (started at the first call, with the given name
    and extra environment); the module's tests still need `django_db(transaction=True)`."""
    started: list[DaphneServer] = []

    def start(name: str, **extra_env: str) -> DaphneServer:
        if not started:
            with django_db_blocker.unblock():
                env = server_env(**extra_env)
            started.append(DaphneServer(name, env))
        return started[0]

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def daphne_servers(transactional_db) -> Iterator:
    """Start daphne processes on the test database; all are stopped at teardown.

    Call it with a name and extra environment (e.g. MESH_BLOCK_WAIT_SECONDS for the server).
    """
    started: list[DaphneServer] = []

    def start(name: str = "a", *, args: tuple[str, ...] = (), **extra_env: str) -> DaphneServer:
        env = {
            **os.environ,
            **test_database_env(),
            "REDIS_URL": settings.REDIS_URL,
            "DB_POOL_MIN_SIZE": "1",
            "DB_POOL_MAX_SIZE": "4",
            "DEBUG": "true",
            "PYTHONUNBUFFERED": "1",
            **extra_env,
        }
        server = DaphneServer(name, env, args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
