"""The local cluster (`make cluster`, `make cluster-stop`; docs/deployment.md).

Two simulated hosts (network namespaces, deploy/netns.py), two daphne processes and a worker
in each, on PostgreSQL + Redis from DATABASE_URL / REDIS_URL (defaults: the local database
makima_cluster, created if missing, and Redis db 1), reached through forwarders on each
host's gateway address; nginx in the root namespace, rendered from deploy/nginx.conf, on
127.0.0.1:CLUSTER_PORT (all four processes), CLUSTER_PORT+1 (host 1's) and CLUSTER_PORT+2
(host 2's). `start` migrates, sets up the demo, prints its credentials and returns once
/healthz answers through nginx (`--foreground` stays until Ctrl-C). Every namespace, veth and
process is recorded in CLUSTER_STATE_DIR/state.json as it is made; `stop` removes them all.
Ctrl-C or a failure during `start` stops what was started.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from deploy import forward, netns
from deploy.nginx import NginxProcess, render, wait_healthy
from deploy.state import State

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/makima_cluster"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/1"
HOSTS = 2
DAPHNE_PORTS = (8001, 8002)
WORKER_COMMAND = ["manage.py", "db_worker"]


def _hostport(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def _moved(url: str, host: str, port: int) -> str:
    """`url` with its host and port replaced (the credentials and path kept)."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@{host}:{port}" if credentials else f"{host}:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def ensure_database(url: str) -> None:
    """Create the database named in `url` when it does not exist."""
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    maintenance = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if found.fetchone() is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created the database {name}")


class Cluster:
    def __init__(self, *, state_dir: Path, port: int, net: int, env: dict[str, str]):
        self.state = State(state_dir)
        self.port = port
        self.net = net
        self.env = env
        self.database_url = env.get("DATABASE_URL") or DEFAULT_DATABASE_URL
        self.redis_url = env.get("REDIS_URL") or DEFAULT_REDIS_URL
        self.hosts = [netns.Host(net=net, index=i) for i in range(1, HOSTS + 1)]
        self.python = sys.executable
        # What this process started, to kill and start again (bench/chaos.py).
        self.commands: dict[str, tuple[list[str], dict[str, str]]] = {}

    # --- start -------------------------------------------------------------------------------
    def start(self) -> str:
        """Start everything; return the demo's credentials text."""
        if self.state.exists():
            raise SystemExit(
                f"a cluster is recorded in {self.state.path}: run `make cluster-stop` first"
            )
        self.state.begin(net=self.net, port=self.port)
        base_env = {**self.env, "DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url}
        ensure_database(self.database_url)
        # Django starts slowly on a loaded machine: independent steps run side by side.
        migrate = self._manage_start(base_env, "migrate", "--noinput", "--verbosity", "0")
        probe = self._manage_start(base_env, "help", WORKER_COMMAND[1])
        if base_env.get("DEBUG", "true").strip().lower() in ("0", "false", "no", "off"):
            self._manage_wait(self._manage_start(base_env, "collectstatic", "--noinput"))
        probe.communicate()
        with_worker = probe.returncode == 0
        if not with_worker:
            print("no `manage.py db_worker` on this branch: the hosts run no worker")
        self._manage_wait(migrate)
        demo_setup = self._manage_start(
            base_env,
            "demo_setup",
            "--base-url",
            f"http://127.0.0.1:{self.port}",
            "--credentials-file",
            str(self.state.directory / "demo-credentials.json"),
        )
        database = _hostport(self.database_url, 5432)
        redis = _hostport(self.redis_url, 6379)
        for host in self.hosts:
            self.state.add_host(host)
            netns.create(host)
            for name, target in (("pg", database), ("redis", redis)):
                listen = (host.gateway, target[1])
                self._spawn(
                    f"forward-{name}-h{host.index}",
                    forward.command(listen, target, self.python),
                    base_env,
                )
        for host in self.hosts:
            self._wait_forwarders(host, (database[1], redis[1]))
            env = self._host_env(host, database[1], redis[1])
            for port in DAPHNE_PORTS:
                daphne = [self.python, "-m", "daphne", "-b", host.address, "-p", str(port)]
                daphne += ["--proxy-headers", "makima_site.asgi:application"]
                self._spawn(f"daphne-h{host.index}-{port}", host.exec_prefix() + daphne, env)
            if with_worker:
                worker = host.exec_prefix() + [self.python, *WORKER_COMMAND]
                self._spawn(f"worker-h{host.index}", worker, env)
        for host in self.hosts:
            for port in DAPHNE_PORTS:
                wait_healthy(f"http://{host.address}:{port}/healthz", 60)
        demo = self._manage_wait(demo_setup)
        self._start_nginx()
        wait_healthy(f"http://127.0.0.1:{self.port}/healthz", 30)
        return demo

    def _manage_start(self, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [self.python, "manage.py", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def _manage_wait(self, process: subprocess.Popen[str]) -> str:
        output, _ = process.communicate()
        if process.returncode:
            raise RuntimeError(f"{' '.join(map(str, process.args))} failed:\n{output}")  # type: ignore[arg-type]
        return output

    def _host_env(self, host: netns.Host, database_port: int, redis_port: int) -> dict[str, str]:
        allowed = self.env.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
        return {
            **self.env,
            "DATABASE_URL": _moved(self.database_url, host.gateway, database_port),
            "REDIS_URL": _moved(self.redis_url, host.gateway, redis_port),
            "ALLOWED_HOSTS": f"{allowed},{host.address}",
            "THROTTLE_NUM_PROXIES": self.env.get("THROTTLE_NUM_PROXIES", "1"),
            "MALLOC_ARENA_MAX": "2",
            "PYTHONUNBUFFERED": "1",
        }

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> None:
        log = (self.state.directory / "logs" / f"{name}.log").open("ab")
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.commands[name] = (command, env)
        self.state.add_process(name, process.pid)

    def daphne_urls(self) -> dict[str, str]:
        """Each daphne process's name and its direct URL (from the root namespace)."""
        return {
            f"daphne-h{h.index}-{p}": f"http://{h.address}:{p}"
            for h in self.hosts
            for p in DAPHNE_PORTS
        }

    def kill(self, name: str, signum: int = signal.SIGKILL) -> None:
        """Signal one process (and its group) that this Cluster started."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.state.pid(name), signum)

    def respawn(self, name: str) -> None:
        """Start a killed process again with its command and environment."""
        command, env = self.commands[name]
        self._spawn(name, command, env)

    def _wait_forwarders(self, host: netns.Host, ports: tuple[int, ...]) -> None:
        import socket

        deadline = time.monotonic() + 10
        for port in ports:
            while True:
                try:
                    socket.create_connection((host.gateway, port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"no forwarder on {host.gateway}:{port}") from None
                    time.sleep(0.05)

    def _start_nginx(self) -> None:
        every = [f"{h.address}:{p}" for h in self.hosts for p in DAPHNE_PORTS]
        sites = {"makima": render(servers=every, listen=f"127.0.0.1:{self.port}")}
        for host in self.hosts:
            sites[f"makima_h{host.index}"] = render(
                servers=[f"{host.address}:{p}" for p in DAPHNE_PORTS],
                listen=f"127.0.0.1:{self.port + host.index}",
                upstream=f"makima_h{host.index}",
            )
        nginx = NginxProcess(self.state.directory / "nginx", sites)
        nginx.start()
        assert nginx.process is not None
        self.state.add_process("nginx", nginx.process.pid)

    # --- stop --------------------------------------------------------------------------------
    def stop(self) -> None:
        self.state.stop_all()


def from_environment(state_dir: str | None = None) -> Cluster:
    env = dict(os.environ)
    return Cluster(
        state_dir=Path(state_dir or env.get("CLUSTER_STATE_DIR") or ROOT / ".cluster"),
        port=int(env.get("CLUSTER_PORT") or 8080),
        net=int(env.get("CLUSTER_NET") or 0),
        env=env,
    )


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="The local cluster (docs/deployment.md).")
    parser.add_argument("command", choices=["start", "stop"])
    parser.add_argument("--foreground", action="store_true", help="stay until Ctrl-C")
    parser.add_argument("--state-dir", help="default CLUSTER_STATE_DIR or .cluster/")
    args = parser.parse_args(argv)
    cluster = from_environment(args.state_dir)
    if args.command == "stop":
        cluster.stop()
        return 0
    reason = netns.unavailable_reason()
    if reason:
        print(f"make cluster: {reason}", file=sys.stderr)
        return 1
    # Ctrl-C and SIGTERM stop the cluster, even when started in the background (which
    # ignores SIGINT until it is handled again).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupted)
    ready = False
    try:
        demo = cluster.start()
        ready = True
        print(demo)
        print(f"== cluster up: http://127.0.0.1:{cluster.port}/ (nginx in front of 4 daphne)")
        print(f"   host 1 only: :{cluster.port + 1}, host 2 only: :{cluster.port + 2}; logs in")
        print(f"   {cluster.state.directory}/logs; stop with `make cluster-stop`")
        if args.foreground:
            print("   (foreground: Ctrl-C stops the cluster)", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        print("stopping the cluster", file=sys.stderr)
        cluster.stop()
        return 0 if ready else 130  # the foreground's Ctrl-C is its normal end
    except BaseException:
        cluster.stop()
        raise
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
