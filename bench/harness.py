"""Plumbing for bench/run.py: server processes, /proc readings, statistics, HTTP helpers,
PostgreSQL and Redis probes. Nothing here knows about a particular benchmark."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import platform
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

TOOL_KEY_HEADER = "X-Makima-Tool-Key"
ASK_PATH = "/api/v1/mesh/supervisor/questions"
ORDERS_PATH = "/api/v1/mesh/supervisor/orders"
LIST_PATH = "/api/v1/mesh/questions"
PLAIN_GET_PATH = "/api/v1/directives/"
FEED_PATH = "/ws/v1/mesh/questions/"


def answer_path(question_id: str) -> str:
    return f"/api/v1/mesh/questions/{question_id}/answer"


# Long waits keep blocked asks blocked for the whole measurement; the auto timeout is short
# only where the leak check wants asks to time out (408) quickly.
LONG_WAITS = {
    "MESH_BLOCK_WAIT_SECONDS": 900,
    "MESH_AUTO_TIMEOUT_SECONDS": 30,
    "MESH_POLL_WAIT_SECONDS": 900,
}
LEAK_WAITS = {**LONG_WAITS, "MESH_AUTO_TIMEOUT_SECONDS": 1}
# Throttles must not shape a benchmark, but their bookkeeping belongs in the
# measured cost: keep them on, with limits far above any rate used here.
UNTHROTTLED_ENV = {
    "THROTTLE_ASK_RATE": "10000000/min",
    "THROTTLE_ANSWER_RATE": "10000000/min",
    "THROTTLE_TOKEN_CREATE_RATE": "10000000/min",
    "THROTTLE_AUTH_FAILURE_RATE": "10000000/min",
}
POOL_SIZE = int(os.environ.get("DB_POOL_MAX_SIZE", "10"))


# --- statistics -----------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100) of values; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary_ms(samples_s: list[float]) -> dict[str, Any]:
    """p50/p90/p99/max of samples given in seconds, in milliseconds."""
    ms = [s * 1000.0 for s in samples_s]

    def r(value: float | None) -> float | None:
        return None if value is None else round(value, 2)

    return {
        "n": len(ms),
        "p50_ms": r(percentile(ms, 50)),
        "p90_ms": r(percentile(ms, 90)),
        "p99_ms": r(percentile(ms, 99)),
        "max_ms": r(max(ms) if ms else None),
    }


def lat(summary: dict[str, Any]) -> str:
    """'p50 x ms, p99 y ms (n=...)' for a summary_ms() dict."""

    def ms(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1f} ms"

    return f"p50 {ms(summary['p50_ms'])}, p99 {ms(summary['p99_ms'])} (n={summary['n']})"


# --- /proc readings -------------------------------------------------------------------------
def parse_status(text: str) -> dict[str, int]:
    """VmRSS (kB) and Threads out of /proc/PID/status text."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "Threads"):
            out[key] = int(value.split()[0])
    return out


def parse_stat_cpu_ticks(text: str) -> int:
    """utime + stime (clock ticks) out of /proc/PID/stat text (comm may contain spaces)."""
    fields = text.rsplit(")", 1)[1].split()
    # fields[0] is state (field 3); utime and stime are fields 14 and 15.
    return int(fields[11]) + int(fields[12])


@dataclass
class ProcReading:
    rss_mb: float
    threads: int
    fds: int
    cpu_s: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "rss_mb": round(self.rss_mb, 1),
            "threads": self.threads,
            "fds": self.fds,
            "cpu_s": round(self.cpu_s, 2),
        }


def read_proc(pid: int) -> ProcReading:
    status = parse_status(Path(f"/proc/{pid}/status").read_text())
    ticks = parse_stat_cpu_ticks(Path(f"/proc/{pid}/stat").read_text())
    try:
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        fds = -1
    return ProcReading(
        rss_mb=status.get("VmRSS", 0) / 1024.0,
        threads=status.get("Threads", 0),
        fds=fds,
        cpu_s=ticks / CLK_TCK,
    )


async def cpu_percent(pids: list[int], seconds: float) -> dict[int, float]:
    """Each process's CPU use (percent of one core) over the next `seconds`."""
    start = {pid: read_proc(pid).cpu_s for pid in pids}
    t0 = time.monotonic()
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - t0
    return {pid: round(100.0 * (read_proc(pid).cpu_s - start[pid]) / elapsed, 2) for pid in pids}


# --- machine --------------------------------------------------------------------------------
def machine_info() -> dict[str, Any]:
    def run(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=5).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "label": "2-core python-svc sandbox",
        "python_speed_ms": python_speed_ms(),
        "nproc": run(["nproc"]),
        "free_h": run(["free", "-h"]),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        "kernel": platform.release(),
        "python": platform.python_version(),
        "date_utc": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "git_commit": run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]),
    }


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def python_speed_ms() -> float:
    """Best of 5 timings of sum(range(10**6)), in ms: how fast this machine runs Python
    right now (a recent desktop core: ~15-20 ms)."""
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        sum(range(10**6))
        best = min(best, time.perf_counter() - t0)
    return round(best * 1000.0, 1)


def raise_nofile_limit() -> int:
    """Raise this process's soft RLIMIT_NOFILE to the hard limit (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# --- server processes -----------------------------------------------------------------------
@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def reading(self) -> ProcReading:
        return read_proc(self.pid)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def log_error_count(self) -> int:
        """Lines in the server log that report an error or a traceback."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return 0
        return sum(
            1 for line in text.splitlines() if " ERROR " in line or line.startswith("Traceback")
        )


@dataclass
class Cluster:
    """The deployment under test: one daphne (embedded) or two (PostgreSQL + Redis)."""

    mode: str  # "embedded" | "redis"
    ports: list[int]
    workdir: Path
    run_id: str
    env: dict[str, str] = field(default_factory=dict)
    servers: list[Server] = field(default_factory=list)
    started: list[Server] = field(default_factory=list)  # every server of this run, for logs
    layer_prefix: str = ""
    _migrated: bool = False

    @classmethod
    def create(cls, *, mode: str, port_base: int, run_id: str, keep_dir: bool = False) -> Cluster:
        workdir = Path(tempfile.mkdtemp(prefix=f"makima-bench-{run_id}-"))
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(
            {
                "DEBUG": "0",
                "SECRET_KEY": secrets.token_urlsafe(48),
                "SECURE_SSL_REDIRECT": "0",
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "LOG_LEVEL": "WARNING",
                "PYTHONUNBUFFERED": "1",
                # As `make run` and docs/configuration.md "Production": glibc's per-thread
                # malloc arenas (one per request thread) otherwise let RSS creep up under load.
                "MALLOC_ARENA_MAX": "2",
            }
        )
        layer_prefix = ""
        if mode == "redis":
            env["DATABASE_URL"] = os.environ["DATABASE_URL"]
            env["REDIS_URL"] = os.environ["REDIS_URL"]
            layer_prefix = f"mkbench{run_id}"
            env["CHANNEL_LAYER_PREFIX"] = layer_prefix
        else:
            env["SQLITE_PATH"] = str(workdir / "db.sqlite3")
        cluster = cls(
            mode=mode,
            ports=[port_base, port_base + 1],
            workdir=workdir,
            run_id=run_id,
            env=env,
            layer_prefix=layer_prefix,
        )
        cluster._keep_dir = keep_dir  # type: ignore[attr-defined]
        return cluster

    @property
    def process_count(self) -> int:
        return 2 if self.mode == "redis" else 1

    def manage(self, *args: str, stdin: str | None = None, timeout: float = 600) -> str:
        result = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def migrate(self) -> None:
        if not self._migrated:
            self.manage("migrate", "--noinput")
            self._migrated = True

    def fixtures(self, groups: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        spec = {"prefix": f"bench-{self.run_id}", "groups": groups}
        result = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "fixtures.py"), "create"],
            cwd=ROOT,
            env=self.env,
            input=json.dumps(spec),
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            raise RuntimeError(f"fixtures failed:\n{result.stderr[-3000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])["groups"]

    def cleanup_fixtures(self) -> None:
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "fixtures.py"),
                "cleanup",
                f"bench-{self.run_id}",
            ],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    async def start(
        self, waits: Mapping[str, float], extra_env: dict[str, str] | None = None
    ) -> None:
        """Start this cluster's daphne process(es) with the given MESH_* waits; wait healthy."""
        await self.stop()
        self.migrate()
        env = dict(self.env)
        env.update({k: str(v) for k, v in waits.items()})
        env.update(extra_env or {})
        daphne = str(VENV_BIN / "daphne")
        for port in self.ports[: self.process_count]:
            ensure_port_free(port)
        for index in range(self.process_count):
            port = self.ports[index]
            name = "AB"[index]
            log_path = self.workdir / f"daphne-{name}-{port}-{int(time.time())}.log"
            log = log_path.open("wb")
            proc = subprocess.Popen(
                [
                    daphne,
                    "-e",
                    f"tcp:port={port}:interface=127.0.0.1:backlog=4096",
                    "makima_site.asgi:application",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            log.close()
            self.servers.append(Server(name=name, port=port, proc=proc, log_path=log_path))
            self.started.append(self.servers[-1])
        for server in self.servers:
            await wait_healthy(server)

    async def stop(self) -> None:
        for server in self.servers:
            if server.proc.poll() is None:
                server.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 8
        for server in self.servers:
            while server.proc.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if server.proc.poll() is None:
                server.proc.kill()
                server.proc.wait()
        self.servers = []

    def kill_now(self) -> None:
        """Synchronous last-resort teardown (atexit / signal)."""
        for server in self.servers:
            if server.proc.poll() is None:
                server.proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    server.proc.wait(timeout=5)

    def remove_workdir(self) -> None:
        if not getattr(self, "_keep_dir", False):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def server_limits(self) -> str:
        if not self.servers:
            return ""
        for line in Path(f"/proc/{self.servers[0].pid}/limits").read_text().splitlines():
            if line.startswith("Max open files"):
                return " ".join(line.split()[3:5])
        return ""

    # --- probes ---------------------------------------------------------------------------
    def readings(self) -> dict[str, Any]:
        """RSS, threads, fds and CPU seconds of every server process, plus PG connections."""
        out: dict[str, Any] = {s.name: s.reading().as_dict() for s in self.servers}
        pg = self.pg_connections()
        if pg is not None:
            out["pg_connections"] = pg
        return out

    def pg_connections(self) -> int | None:
        """Connections to this run's PostgreSQL database (pg_stat_activity), except ours."""
        if self.mode != "redis":
            return None
        import psycopg

        with psycopg.connect(self.env["DATABASE_URL"], connect_timeout=5) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()
        return int(row[0]) if row else None

    async def layer_keys(self) -> dict[str, int] | None:
        """Redis keys under the channel layer's prefix, and the Redis DB's DBSIZE."""
        if self.mode != "redis":
            return None
        import redis.asyncio as aioredis

        client = aioredis.from_url(self.env["REDIS_URL"])
        try:
            count = 0
            async for _ in client.scan_iter(match=f"{self.layer_prefix}*", count=1000):
                count += 1
            return {"prefix_keys": count, "dbsize": int(await client.dbsize())}
        finally:
            await client.aclose()

    async def delete_layer_keys(self) -> None:
        if self.mode != "redis":
            return
        import redis.asyncio as aioredis

        client = aioredis.from_url(self.env["REDIS_URL"])
        try:
            batch = []
            async for key in client.scan_iter(match=f"{self.layer_prefix}*", count=1000):
                batch.append(key)
                if len(batch) >= 500:
                    await client.delete(*batch)
                    batch = []
            if batch:
                await client.delete(*batch)
        finally:
            await client.aclose()


def ensure_port_free(port: int) -> None:
    """Refuse to start when something already listens on the port (it would answer the
    health check, and the run would measure someone else's server)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise RuntimeError(
                f"port {port} is in use ({exc.strerror}); pick another --port-base"
            ) from exc


async def wait_healthy(server: Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                raise RuntimeError(
                    f"daphne {server.name} exited with {server.proc.returncode}:\n"
                    + server.log_tail()
                )
            try:
                async with session.get(
                    server.base + "/healthz", timeout=aiohttp.ClientTimeout(total=2)
                ) as resp:
                    if resp.status == 200:
                        return
            except (TimeoutError, aiohttp.ClientError):
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"daphne {server.name} not healthy in {timeout}s:\n{server.log_tail()}")


# --- HTTP -----------------------------------------------------------------------------------
def new_session(*, force_close: bool = False) -> aiohttp.ClientSession:
    """A client session that can hold thousands of requests open at once."""
    connector = aiohttp.TCPConnector(
        limit=0, limit_per_host=0, force_close=force_close, ttl_dns_cache=None
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=60),
        skip_auto_headers=("User-Agent",),
    )


@dataclass
class Reply:
    status: int  # 0 = transport error
    body: Any
    started: float
    finished: float
    error: str = ""

    @property
    def seconds(self) -> float:
        return self.finished - self.started


async def call(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    json_body: Any = None,
    timeout: float | None = None,
) -> Reply:
    """One request; never raises for HTTP or transport errors (status 0 = transport error)."""
    started = time.perf_counter()
    try:
        async with session.request(
            method,
            url,
            headers=headers,
            json=json_body,
            timeout=aiohttp.ClientTimeout(total=timeout) if timeout else None,
        ) as resp:
            raw = await resp.read()
            finished = time.perf_counter()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw[:200].decode(errors="replace")
            return Reply(resp.status, body, started, finished)
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        return Reply(0, None, started, time.perf_counter(), error=f"{type(exc).__name__}: {exc}")


def owner_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def tool_headers(key: str) -> dict[str, str]:
    return {TOOL_KEY_HEADER: key}


# --- the contract, as a client ------------------------------------------------------------
def ask_body(marker: str, *, non_blocking: bool = False) -> dict[str, Any]:
    return {"question": marker, "choices": ["yes", "no"], "nonBlocking": non_blocking}


async def ask(
    session, server: Server, key: str, marker: str, *, non_blocking=False, timeout=None
) -> Reply:
    return await call(
        session,
        "POST",
        server.base + ASK_PATH,
        headers=tool_headers(key),
        json_body=ask_body(marker, non_blocking=non_blocking),
        timeout=timeout,
    )


async def answer(session, server: Server, token: str, question_id: str, text: str) -> Reply:
    return await call(
        session,
        "POST",
        server.base + answer_path(question_id),
        headers=owner_headers(token),
        json_body={"response": text},
        timeout=60,
    )


async def list_pending(session, server: Server, token: str) -> Reply:
    return await call(
        session, "GET", server.base + LIST_PATH, headers=owner_headers(token), timeout=60
    )
