"""The throughput part of bench/run.py: requests per second of ONE daphne process at 1, 8
and 32 connections next to ONE gunicorn sync worker (makima_site/wsgi.py) at 1 and 8, on
four endpoints (the owner's token GET list, a non-blocking ask, an answer, the pending
list), on SQLite and, when DATABASE_URL is set, on PostgreSQL, in one run.

The load generator is wrk (`apt-get install -y wrk`), one thread, a Lua script per
endpoint. Both servers of a database run at once on neighbouring ports, and the cells are
interleaved (daphne 1, gunicorn 1, daphne 8, gunicorn 8, daphne 32, then again for each
round), so a change in the machine's load hits both sides alike. `--tp-before DIR` adds a
third server, daphne run from another checkout (say, the commit before a change), to the
same cells; `--tp-before-env K=V,...` gives that server other settings (with
`--tp-before .` the same code with, say, MAX_CONCURRENT_REQUESTS=30). `--py-spy DIR` records a
py-spy profile of daphne during its first 8-connection GET cell of each database.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import harness as h

ENDPOINTS = ("get_list", "ask", "answer", "pending")
ENDPOINT_TEXT = {
    "get_list": "GET /api/v1/directives/ (token)",
    "ask": "POST ask, nonBlocking (tool key)",
    "answer": "POST .../answer (token)",
    "pending": "GET /api/v1/mesh/questions (token, 20 pending)",
}
DAPHNE_CONNECTIONS = (1, 8, 32)
GUNICORN_CONNECTIONS = (1, 8)
# The ask endpoint's per-task cap of pending questions would refuse the load's asks.
SERVER_ENV = {
    **h.UNTHROTTLED_ENV,
    **h.LONG_WAITS,
    "MESH_MAX_PENDING_PER_TASK": "100000000",
}

_LUA_COMMON = """
wrk.headers["Content-Type"] = "application/json"
"""
_LUA_ANSWER = """
local ids = {}
for line in io.lines(os.getenv("MAKIMA_IDS")) do ids[#ids + 1] = line end
local i = 0
request = function()
  i = i + 1
  local id = ids[i] or ids[#ids]
  return wrk.format("POST", "/api/v1/mesh/questions/" .. id .. "/answer", nil,
                    '{"response": "yes, go ahead"}')
end
"""


@dataclass
class Cell:
    db: str
    server: str  # "daphne" | "gunicorn"
    endpoint: str
    connections: int
    rps: float
    requests: int
    non_2xx: int
    socket_errors: int
    p50_ms: float | None
    p99_ms: float | None
    cpu_ms: float | None = None  # the server process's CPU per request (utime + stime)


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process and its children (gunicorn's worker is its master's child)."""
    total = h.read_proc(pid).cpu_s
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return total + sum(tree_cpu_s(int(child)) for child in children)


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk")
    return path


def _ms(text: str) -> float:
    value = float(re.sub(r"[a-z]+$", "", text))
    unit = re.sub(r"^[\d.]+", "", text)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}.get(unit, 1.0)


def parse_wrk(out: str) -> dict[str, Any]:
    """wrk's summary: requests/s, requests, non-2xx, socket errors, p50/p99 (ms)."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    pct = dict(re.findall(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+[a-z]+)", out, re.M))
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "requests": int(total.group(1)) if total else 0,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(g) for g in sock.groups()) if sock else 0,
        "p50_ms": _ms(pct["50"]) if "50" in pct else None,
        "p99_ms": _ms(pct["99"]) if "99" in pct else None,
    }


class Target:
    """One database's pair of servers, fixtures and wrk scripts."""

    def __init__(
        self,
        db: str,
        env: dict[str, str],
        workdir: Path,
        port: int,
        run_id: str,
        before_root: Path | None = None,
        before_env: dict[str, str] | None = None,
    ):
        self.db, self.env, self.workdir, self.port, self.run_id = db, env, workdir, port, run_id
        self.before_root = before_root
        self.before_env = before_env or {}
        self.servers: dict[str, h.Server] = {}
        self.scripts: dict[str, Path] = {}
        self.answer_ids: list[str] = []
        self.answer_offset = 0

    def manage(self, *args: str) -> None:
        result = subprocess.run(
            [sys.executable, str(h.ROOT / "manage.py"), *args],
            cwd=h.ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)}:\n{result.stderr[-3000:]}")

    def prepare(self, answers: int) -> None:
        self.manage("migrate", "--noinput")
        spec = {
            "prefix": f"bench-{self.run_id}-tp",
            "groups": [
                {"name": "tp-read", "owners": 1, "tasks_per_owner": 4, "pending_questions": 20},
                {"name": "tp-ask", "owners": 1, "tasks_per_owner": 1},
                {
                    "name": "tp-answer",
                    "owners": 1,
                    "tasks_per_owner": 1,
                    "pending_questions": answers,
                    "question_ids": True,
                },
            ],
        }
        result = subprocess.run(
            [sys.executable, str(h.ROOT / "bench" / "fixtures.py"), "create"],
            cwd=h.ROOT,
            env=self.env,
            input=json.dumps(spec),
            capture_output=True,
            text=True,
            timeout=900,
        )
        if result.returncode != 0:
            raise RuntimeError(f"fixtures:\n{result.stderr[-3000:]}")
        groups = json.loads(result.stdout.strip().splitlines()[-1])["groups"]
        read, asker, answerer = groups["tp-read"][0], groups["tp-ask"][0], groups["tp-answer"][0]
        self.answer_ids = answerer["question_ids"]
        auth = 'wrk.headers["Authorization"] = "Bearer {}"\n'
        self._script("get_list", auth.format(read["token"]) + 'wrk.path = "/api/v1/directives/"')
        self._script("pending", auth.format(read["token"]) + 'wrk.path = "/api/v1/mesh/questions"')
        body = json.dumps(
            {"question": "Deploy now?", "choices": ["yes", "no"], "nonBlocking": True}
        )
        self._script(
            "ask",
            f'wrk.headers["{h.TOOL_KEY_HEADER}"] = "{asker["tasks"][0]["key"]}"\n'
            f'wrk.method = "POST"\nwrk.path = "{h.ASK_PATH}"\nwrk.body = {json.dumps(body)}',
        )
        self._script("answer", auth.format(answerer["token"]) + _LUA_ANSWER)

    def cleanup(self) -> None:
        subprocess.run(
            [
                sys.executable,
                str(h.ROOT / "bench" / "fixtures.py"),
                "cleanup",
                f"bench-{self.run_id}-tp",
            ],
            cwd=h.ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    def _script(self, name: str, text: str) -> None:
        path = self.workdir / f"{self.db}-{name}.lua"
        path.write_text(_LUA_COMMON + text + "\n")
        path.chmod(0o600)
        self.scripts[name] = path

    async def start(self) -> None:
        daphne = [str(h.VENV_BIN / "daphne"), "-e"]
        app = "makima_site.asgi:application"
        commands: dict[str, tuple[Path, list[str]]] = {
            "daphne": (h.ROOT, [*daphne, self._endpoint(0), app]),
            "gunicorn": (
                h.ROOT,
                [
                    str(h.VENV_BIN / "gunicorn"),
                    "--workers",
                    "1",
                    "--worker-class",
                    "sync",
                    "--backlog",
                    "4096",
                    "--bind",
                    f"127.0.0.1:{self.port + 1}",
                    "makima_site.wsgi:application",
                ],
            ),
        }
        if self.before_root is not None:
            commands["daphne-before"] = (self.before_root, [*daphne, self._endpoint(2), app])
        env = {**self.env, **{k: str(v) for k, v in SERVER_ENV.items()}}
        for index, (name, (root, command)) in enumerate(commands.items()):
            port = self.port + index
            server_env = {**env, **self.before_env} if name == "daphne-before" else env
            h.ensure_port_free(port)
            log_path = self.workdir / f"{self.db}-{name}.log"
            with log_path.open("wb") as log:
                proc = subprocess.Popen(
                    command,
                    cwd=root,
                    env=server_env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            self.servers[name] = h.Server(name=name, port=port, proc=proc, log_path=log_path)
        for server in self.servers.values():
            await h.wait_healthy(server)

    def _endpoint(self, offset: int) -> str:
        return f"tcp:port={self.port + offset}:interface=127.0.0.1:backlog=4096"

    async def stop(self) -> None:
        for server in self.servers.values():
            if server.proc.poll() is None:
                server.proc.terminate()
        for server in self.servers.values():
            try:
                await asyncio.to_thread(server.proc.wait, 10)
            except subprocess.TimeoutExpired:
                server.proc.kill()
                server.proc.wait()
        self.servers = {}

    async def run_wrk(
        self,
        server: str,
        endpoint: str,
        connections: int,
        seconds: float,
        profile: Path | None = None,
    ) -> Cell:
        env = dict(os.environ)
        if endpoint == "answer":
            ids_path = self.workdir / f"{self.db}-ids.txt"
            ids_path.write_text("\n".join(self.answer_ids[self.answer_offset :]) + "\n")
            env["MAKIMA_IDS"] = str(ids_path)
        target = self.servers[server]
        command = [
            wrk_path(),
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "--timeout",
            "30s",
            "-s",
            str(self.scripts[endpoint]),
            target.base,
        ]
        spy = None
        if profile is not None:
            spy = subprocess.Popen(
                [
                    str(h.VENV_BIN / "py-spy"),
                    "record",
                    "--pid",
                    str(target.pid),
                    "--duration",
                    str(int(seconds)),
                    "--format",
                    "raw",
                    "--output",
                    str(profile),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
        cpu_before = tree_cpu_s(target.pid)
        proc = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        out = (await proc.communicate())[0].decode(errors="replace")
        if spy is not None:
            await asyncio.to_thread(spy.wait, 60)
        if proc.returncode != 0 or "Requests/sec" not in out:
            raise RuntimeError(f"wrk failed ({proc.returncode}): {out[-2000:]}")
        figures = parse_wrk(out)
        cpu_s = tree_cpu_s(target.pid) - cpu_before
        if figures["requests"]:
            figures["cpu_ms"] = round(1000.0 * cpu_s / figures["requests"], 2)
        if endpoint == "answer":
            self.answer_offset += figures["requests"] + connections
        return Cell(self.db, server, endpoint, connections, **figures)


def cell_order(rounds: int, before: bool) -> list[tuple[str, int]]:
    """daphne 1, [daphne-before 1,] gunicorn 1, daphne 8, … once per round."""
    order: list[tuple[str, int]] = []
    for _ in range(rounds):
        for index, connections in enumerate(DAPHNE_CONNECTIONS):
            order.append(("daphne", connections))
            if before:
                order.append(("daphne-before", connections))
            if index < len(GUNICORN_CONNECTIONS):
                order.append(("gunicorn", GUNICORN_CONNECTIONS[index]))
    return order


def targets_for(
    base_env: dict[str, str],
    workdir: Path,
    port: int,
    run_id: str,
    before: Path | None,
    before_env: dict[str, str] | None = None,
) -> list[Target]:
    sqlite_env = {**base_env, "SQLITE_PATH": str(workdir / "throughput.sqlite3")}
    for name in ("DATABASE_URL", "REDIS_URL", "CHANNEL_LAYER_PREFIX"):
        sqlite_env.pop(name, None)
    targets = [Target("sqlite", sqlite_env, workdir, port, run_id, before, before_env)]
    if os.environ.get("DATABASE_URL"):
        pg_env = {**base_env, "DATABASE_URL": os.environ["DATABASE_URL"]}
        pg_env.pop("SQLITE_PATH", None)
        if os.environ.get("REDIS_URL"):
            pg_env["REDIS_URL"] = os.environ["REDIS_URL"]
            pg_env["CHANNEL_LAYER_PREFIX"] = f"mkbench{run_id}tp"
        targets.append(Target("postgresql", pg_env, workdir, port + 3, run_id, before, before_env))
    return targets
