"""The local cluster's record of what it made (state.json in its state directory).

Each namespace and process is written down before (namespaces) or as soon as (processes) it
exists, so `stop` removes everything even after a start that failed half way. A process is
known by its pid and its start time (/proc/<pid>/stat), so a pid reused by another program
is never signalled.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from deploy import netns


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[19]


class State:
    def __init__(self, directory: Path):
        self.directory = directory
        self.path = directory / "state.json"
        self.data: dict[str, Any] = {}

    def exists(self) -> bool:
        return self.path.exists()

    def begin(self, **fields: Any) -> None:
        (self.directory / "logs").mkdir(parents=True, exist_ok=True)
        self.data = {**fields, "hosts": [], "processes": []}
        self._save()

    def add_host(self, host: netns.Host) -> None:
        self.data["hosts"].append({"net": host.net, "index": host.index})
        self._save()

    def add_process(self, name: str, pid: int) -> None:
        self.data["processes"].append({"name": name, "pid": pid, "start": _start_time(pid)})
        self._save()

    def processes(self) -> list[dict[str, Any]]:
        return list(self.load().get("processes", []))

    def pid(self, name: str) -> int:
        """The newest pid recorded under `name` (a respawned process is recorded again)."""
        return [p["pid"] for p in self.processes() if p["name"] == name][-1]

    def load(self) -> dict[str, Any]:
        if not self.data and self.path.exists():
            self.data = json.loads(self.path.read_text())
        return self.data

    def _save(self) -> None:
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.data, indent=2))
        os.replace(temporary, self.path)

    def stop_all(self, grace: float = 10) -> None:
        """SIGTERM every recorded process group (nginx first), SIGKILL what is left after
        `grace` seconds, then remove the veths and namespaces and the record."""
        data = self.load()
        if not data:
            print(f"no cluster recorded in {self.path}")
            return
        processes = sorted(data.get("processes", []), key=lambda p: p["name"] != "nginx")
        alive = [p for p in processes if p["start"] and _start_time(p["pid"]) == p["start"]]
        for process in alive:
            _signal_group(process["pid"], signal.SIGTERM)
        deadline = time.monotonic() + grace
        while alive and time.monotonic() < deadline:
            alive = [p for p in alive if _start_time(p["pid"]) == p["start"] and _running(p)]
            time.sleep(0.05)
        for process in alive:
            _signal_group(process["pid"], signal.SIGKILL)
        for host in data.get("hosts", []):
            netns.destroy(netns.Host(net=host["net"], index=host["index"]))
        self.path.unlink(missing_ok=True)
        self.data = {}


def _running(process: dict[str, Any]) -> bool:
    """False once the process is gone or a zombie (reaped by nobody: its parent exited)."""
    try:
        state = Path(f"/proc/{process['pid']}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def _signal_group(pid: int, signum: int) -> None:
    """Signal the process's group (it leads one: start_new_session), or the process."""
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, signum)
