"""Private PostgreSQL, Redis and daphne processes that the fault tests may break.

The machine's shared PostgreSQL (5432) and Redis (6379) serve other suites at the same time:
these tests never touch them. Each test gets its own redis-server on a free port; the session
gets one private PostgreSQL cluster (initdb once, migrated once), which tests stop and start
at will; daphne processes run `makima_site.asgi:application` against both.

They run in the PostgreSQL+Redis pass only (where CI provides the server binaries) and skip
with the reason otherwise.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
PG_DATABASE = "makima_faults"


def _pg_bindir() -> Path | None:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return versions[0].parent if versions else None


def skip_reason() -> str | None:
    if not settings.DATABASE_URL.startswith(("postgres://", "postgresql://")):
        return "fault tests run in the PostgreSQL+Redis pass: set DATABASE_URL=postgres://..."
    if not settings.REDIS_URL:
        return "fault tests run in the PostgreSQL+Redis pass: set REDIS_URL"
    if _pg_bindir() is None:
        return "fault tests need PostgreSQL's server binaries (/usr/lib/postgresql/*/bin)"
    if shutil.which("redis-server") is None:
        return "fault tests need redis-server on PATH"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "fault tests run initdb as the postgres user: runuser is missing"
    return None


@pytest.fixture(autouse=True)
def _fault_services_available():
    reason = skip_reason()
    if reason:
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# --- PostgreSQL --------------------------------------------------------------------------------
class PrivatePostgres:
    """A throwaway cluster in a temp dir: trust auth, its own port and socket dir."""

    def __init__(self, root: Path):
        self.bindir = _pg_bindir()
        self.root = root
        self.data = root / "data"
        self.log = root / "postgres.log"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/{PG_DATABASE}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=60)

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()
        self.psql(f"CREATE DATABASE {PG_DATABASE}", database="postgres")

    def _pg_ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "30", *args)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("-o", options, "-l", str(self.log), "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("-m", mode, "stop")

    @property
    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def ensure_running(self) -> None:
        if not self.running:
            self.start()

    def psql(self, sql: str, database: str = PG_DATABASE) -> str:
        result = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database]
            + ["-tAc", sql],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        )
        return result.stdout.strip()

    def backends(self) -> list[tuple[str, str]]:
        """(state, query) of every client backend on the test database but this one."""
        rows = self.psql(
            "SELECT state || '|' || left(query, 60) FROM pg_stat_activity "
            "WHERE datname = current_database() AND backend_type = 'client backend' "
            "AND pid <> pg_backend_pid()"
        )
        return [tuple(line.split("|", 1)) for line in rows.splitlines() if line]


@pytest.fixture(scope="session")
def _pg_cluster():
    if skip_reason():
        pytest.skip(skip_reason())
    root = Path(tempfile.mkdtemp(prefix="makima-faults-pg-"))
    cluster = PrivatePostgres(root)
    try:
        cluster.init()
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": cluster.url},
            check=True,
            timeout=120,
        )
        yield cluster
    finally:
        if cluster.data.exists():
            cluster._run("pg_ctl", "-D", str(cluster.data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg(_pg_cluster):
    """The session's private cluster, running at the start and at the end of the test."""
    _pg_cluster.ensure_running()
    yield _pg_cluster
    _pg_cluster.ensure_running()


# --- Redis -------------------------------------------------------------------------------------
class PrivateRedis:
    def __init__(self, root: Path):
        self.port = free_port()
        self.root = root
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = (self.root / "redis.log").open("a")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", str(self.root)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for(lambda: self.cli("PING") == "PONG", 10, "redis-server to answer PING")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), *args],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return result.stdout.strip()

    def keys(self) -> set[str]:
        return set(self.cli("--scan").splitlines()) - {""}

    def layer_keys(self) -> set[str]:
        """Keys of the channel layer: not the cache's (rate-limit counters expire by TTL)."""
        return {key for key in self.keys() if not key.startswith("makima-cache:")}


@pytest.fixture
def redis(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


# --- daphne ------------------------------------------------------------------------------------
@dataclass
class Daphne:
    name: str
    env: dict
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait_healthy: bool = True) -> None:
        log = self.log_path.open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port)]
            + ["makima_site.asgi:application"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        if wait_healthy:
            wait_for(self._healthy, 30, f"daphne {self.name} to report healthy", 0.1)

    def _healthy(self) -> bool:
        assert self.process.poll() is None, self.log_path.read_text()[-3000:]
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def ops(self) -> dict:
        return httpx.get(f"{self.url}/_ops/wakehub", timeout=5).json()

    def log(self) -> str:
        return self.log_path.read_text()


@pytest.fixture
def daphne(pg, redis, tmp_path):
    """daphne(name, **env) → a started Daphne on the private services; all stopped at the end.

    Waits are small but real: a fault test checks a real deadline.
    """
    started: list[Daphne] = []

    def start(name: str = "a", **overrides) -> Daphne:
        env = {
            **os.environ,
            "DATABASE_URL": pg.url,
            "REDIS_URL": redis.url,
            "CHANNEL_LAYER_PREFIX": "makima-faults",
            "MESH_BLOCK_WAIT_SECONDS": "3",
            "MESH_AUTO_TIMEOUT_SECONDS": "3",
            "MESH_POLL_WAIT_SECONDS": "3",
            "DB_POOL_MIN_SIZE": "1",
            "DB_POOL_MAX_SIZE": "4",
            "DB_POOL_TIMEOUT": "2",
            "MESH_OPS_ENDPOINTS": "1",
            "LOG_LEVEL": "WARNING",
            **{key: str(value) for key, value in overrides.items()},
        }
        server = Daphne(name, env, tmp_path / f"daphne-{name}.log")
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def seed(pg: PrivatePostgres, *, tasks: int = 1, mode: str = "semi-auto") -> dict:
    """An owner with a token, a directive and `tasks` tasks with tool keys, in `pg`."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.faults.seed", json.dumps({"tasks": tasks, "mode": mode})],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": pg.url, "LOG_LEVEL": "WARNING"},
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])
