"""The first run (`make run`): it stops at once when its port is taken, before anything is
printed (mesh/demo/portcheck.py), and the commands its block prints work as printed
against a real daphne (mesh/demo/instructions.py)."""

import io
import json
import os
import re
import socket
import subprocess
import sys
import time

import pytest
from django.core.management import call_command

from mesh.demo import portcheck
from mesh.models import Question
from tests.live_daphne import ROOT, free_port, off_thread

PORTCHECK = ROOT / "mesh" / "demo" / "portcheck.py"


@pytest.fixture
def taken_port():
    """A port something already listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        yield listener.getsockname()[1]


def test_a_taken_port_fails_with_one_line(taken_port):
    done = subprocess.run(
        [sys.executable, str(PORTCHECK), "127.0.0.1", str(taken_port)],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert f"port {taken_port} on 127.0.0.1 is already in use" in done.stderr
    assert f"make run PORT={taken_port + 1}" in done.stderr


def test_a_free_port_passes_silently():
    done = subprocess.run(
        [sys.executable, str(PORTCHECK), "127.0.0.1", str(free_port())],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_an_unknown_host_is_a_problem_too():
    assert "unknown host" in (portcheck.port_problem("host.invalid", 8000) or "")


# `make test` runs this under make: its variables would make the inner make print
# "Entering directory" lines.
MAKE_ENV = {
    k: v
    for k, v in os.environ.items()
    if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")
}


def test_make_run_checks_the_port_before_anything_else(taken_port):
    """`make run` runs the port check first; on a taken port it stops there, so nothing is
    installed, migrated or printed."""
    planned = subprocess.run(
        ["make", "--no-print-directory", "-n", "run", f"PORT={taken_port}"],
        cwd=ROOT,
        env=MAKE_ENV,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout.splitlines()
    assert "portcheck.py" in planned[0]
    assert any("demo_setup" in line for line in planned[1:])
    done = subprocess.run(
        ["make", "--no-print-directory", "port-free", f"PORT={taken_port}"],
        cwd=ROOT,
        env=MAKE_ENV,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode != 0 and done.stdout == ""
    assert "already in use" in done.stderr.splitlines()[0]


def _printed_commands(base_url: str, credentials) -> list[str]:
    out = io.StringIO()
    call_command(
        "demo_setup", "--base-url", base_url, "--credentials-file", str(credentials), stdout=out
    )
    return [line for line in out.getvalue().splitlines() if line.startswith("curl ")]


def _bash(command: str) -> dict:
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_printed_commands_work(daphne_servers, settings, tmp_path):
    """Run as printed: the ask blocks; the list shows it pending; the answer command finds
    it and answers; the ask then returns the answer."""
    settings.DEBUG = True
    server = daphne_servers("first-run", MESH_BLOCK_WAIT_SECONDS="20")
    ask, listing, answer = _printed_commands(server.base_url, tmp_path / "credentials.json")

    asking = subprocess.Popen(["bash", "-c", ask], stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while not off_thread(Question.objects.filter(status="pending").exists):
            assert time.monotonic() < deadline, "the ask never created its question"
            assert asking.poll() is None, "the ask returned before it was answered"
            time.sleep(0.02)
        listed = _bash(listing)
        assert listed["count"] == 1
        assert (listed["results"][0]["status"], listed["results"][0]["question"]) == (
            "pending",
            "Ship the demo?",
        )
        assert asking.poll() is None  # still blocked
        answered = _bash(answer)
        assert (answered["status"], answered["response"]) == ("answered", "yes")
        stdout, _ = asking.communicate(timeout=10)
    finally:
        if asking.poll() is None:
            asking.kill()
            asking.wait()
    reply = json.loads(stdout)
    assert (reply["response"], reply["status"], reply["stillPending"]) == ("yes", "answered", False)
    assert re.fullmatch(r"[0-9a-f-]{36}", reply["questionId"])
    assert reply["questionId"] == listed["results"][0]["id"]
