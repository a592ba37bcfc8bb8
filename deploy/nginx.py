"""Render deploy/nginx.conf and run Debian's nginx on it (docs/deployment.md).

`render()` fills the template's placeholders (the upstream group, its daphne processes, the
listen address, the server name) and may override a directive's value (the tests shorten
client_header_timeout). `NginxProcess` runs nginx in the foreground with its own prefix,
main configuration, pid file and logs in a directory of its own: the cluster and the tests
use it; production includes the rendered site file from its own nginx.conf.

    python -m deploy.nginx render --upstream 127.0.0.1:8001 --upstream 127.0.0.1:8002 \
        --listen 80 --server-name mesh.example > /etc/nginx/conf.d/makima.conf
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import httpx

TEMPLATE = Path(__file__).resolve().parent / "nginx.conf"
NGINX = "/usr/sbin/nginx"
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
# How a rendered upstream marks a process down: one refused connection takes it out for 5 s.
SERVER_OPTIONS = "max_fails=1 fail_timeout=5s"


class RenderError(ValueError):
    """A placeholder without a value, or an override for a directive the template lacks."""


def render(
    *,
    servers: Iterable[str],
    listen: str,
    server_name: str = "_",
    upstream: str = "makima",
    overrides: Mapping[str, str] | None = None,
    template: str | None = None,
) -> str:
    """The site file for these daphne addresses (host:port); `overrides` replaces the value of
    every occurrence of a directive (`{"client_header_timeout": "300ms"}`)."""
    text = TEMPLATE.read_text() if template is None else template
    server_lines = [f"server {address} {SERVER_OPTIONS};" for address in servers]
    if not server_lines:
        raise RenderError("at least one upstream server is needed")
    values = {
        "upstream": upstream,
        "upstream_servers": "\n    ".join(server_lines),
        "listen": listen,
        "server_name": server_name,
    }
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise RenderError(f"no value for the placeholder {{{{{name}}}}}")
        return values[name]

    rendered = PLACEHOLDER.sub(fill, body)
    for directive, value in (overrides or {}).items():
        pattern = re.compile(rf"^(\s*{re.escape(directive)}\s+)[^;]+;", re.MULTILINE)
        rendered, count = pattern.subn(_replacement(value), rendered)
        if not count:
            raise RenderError(f"the template has no {directive} directive to override")
    header = "# Rendered from deploy/nginx.conf (its comments say why each value).\n"
    return header + rendered + "\n"


def _replacement(value: str) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        return f"{match.group(1)}{value};"

    return replace


def main_conf(prefix: Path, sites: Iterable[Path]) -> str:
    """An nginx.conf of nginx's own for a private prefix: foreground, its pid and logs there."""
    user = "user root;\n" if os.geteuid() == 0 else ""
    includes = "".join(f"    include {site};\n" for site in sites)
    temp = "".join(
        f"    {kind}_temp_path {prefix / 'temp' / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}daemon off;\nworker_processes 1;\nworker_rlimit_nofile 16384;\n"
        f"pid {prefix / 'nginx.pid'};\nerror_log {prefix / 'error.log'} warn;\n"
        "events { worker_connections 8192; }\n"
        "http {\n"
        f"    access_log {prefix / 'access.log'};\n{temp}{includes}"
        "}\n"
    )


class NginxProcess:
    """nginx in the foreground on rendered site files, under `prefix`."""

    def __init__(self, prefix: Path, sites: Mapping[str, str]):
        if not Path(NGINX).exists():
            raise FileNotFoundError(f"{NGINX} is missing (Debian's nginx package)")
        self.prefix = prefix
        (prefix / "temp").mkdir(parents=True, exist_ok=True)
        site_paths = []
        for name, text in sites.items():
            path = prefix / f"{name}.conf"
            path.write_text(text)
            site_paths.append(path)
        self.conf = prefix / "nginx.conf"
        self.conf.write_text(main_conf(prefix, site_paths))
        self.log_path = prefix / "nginx.out"
        self.process: subprocess.Popen[bytes] | None = None

    def check(self) -> None:
        """`nginx -t`: the configuration parses (raises with nginx's message otherwise)."""
        result = subprocess.run(
            [NGINX, "-t", "-p", str(self.prefix), "-c", str(self.conf)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode:
            raise RuntimeError(f"nginx -t failed:\n{result.stderr}")

    def start(self, health_url: str | None = None, timeout: float = 30) -> None:
        self.check()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [NGINX, "-p", str(self.prefix), "-c", str(self.conf)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if health_url:
            wait_healthy(health_url, timeout, self.process)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def wait_healthy(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Return once `url` answers 200; raise when `timeout` passes or `process` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the process for {url} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f} s")


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Render deploy/nginx.conf.")
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("render", help="print the site file")
    cmd.add_argument("--upstream", action="append", required=True, help="a daphne host:port")
    cmd.add_argument("--listen", default="80")
    cmd.add_argument("--server-name", default="_")
    cmd.add_argument("--set", action="append", default=[], help="directive=value override")
    args = parser.parse_args(argv)
    overrides = dict(item.split("=", 1) for item in args.set)
    sys.stdout.write(
        render(
            servers=args.upstream,
            listen=args.listen,
            server_name=args.server_name,
            overrides=overrides,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(_cli(sys.argv[1:]))
