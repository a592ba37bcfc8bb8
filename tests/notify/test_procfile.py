"""`make run`'s last step: honcho starts the Procfile's web and worker, and stopping honcho
stops both."""

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.live_daphne import ROOT, free_port
from tests.live_daphne import test_database_env as database_env

pytestmark = pytest.mark.django_db(transaction=True)


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_honcho_starts_web_and_worker_and_stopping_it_stops_both(tmp_path):
    port = free_port()
    env = {**os.environ, **database_env(), "HOST": "127.0.0.1", "PORT": str(port)}
    log = (tmp_path / "honcho.log").open("wb")
    honcho = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "honcho"), "start", "-f", "Procfile", "web", "worker"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        healthy = False
        while time.monotonic() < deadline and not healthy:
            try:
                healthy = (
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
                )
            except httpx.HTTPError:
                time.sleep(0.2)
        assert healthy, (tmp_path / "honcho.log").read_text()[-3000:]
        while (
            time.monotonic() < deadline
            and "Starting worker" not in (tmp_path / "honcho.log").read_text()
        ):
            time.sleep(0.1)
        output = (tmp_path / "honcho.log").read_text()
        assert "Starting worker" in output
        children = _descendants(honcho.pid)
        assert len(children) >= 2
        honcho.send_signal(signal.SIGINT)  # what Ctrl+C on `make run` sends
        assert honcho.wait(20) is not None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(p) for p in children):
            time.sleep(0.1)
        assert not any(_alive(p) for p in children)
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
    finally:
        if honcho.poll() is None:
            honcho.kill()
        log.close()
