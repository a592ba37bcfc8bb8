"""client/ is a package of its own: it installs into a fresh virtualenv with pip and never
imports the server."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CLIENT = Path(__file__).resolve().parents[2] / "client"
SERVER_PACKAGES = {"django", "rest_framework", "channels", "mesh", "makima_site", "orders"}


def test_the_client_imports_nothing_of_the_server():
    code = (
        "import sys, makima_client, makima_client.cli, makima_client.mcp_server, "
        "makima_client.watch; print(sorted({m.split('.')[0] for m in sys.modules}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/"
    )
    assert not SERVER_PACKAGES & set(eval(loaded.stdout))  # noqa: S307 - our own output


@pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")),
    reason="installs over the network: once, in the SQLite pass",
)
def test_pip_install_into_a_fresh_virtualenv_then_makima_help(tmp_path):
    source = shutil.copytree(
        CLIENT,
        tmp_path / "client",
        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"),
    )  # setuptools builds in the source tree: keep client/ clean
    venv = tmp_path / "venv"
    # --without-pip: the project's pip installs into it (--python), a fresh venv with
    # ensurepip costs half a minute on a loaded machine.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    shown = subprocess.run(
        [str(venv / "bin" / "makima"), "--help"], capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    assert "makima directive ask" in shown.stdout
    names = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "makima-client==0.1.0" in names and "httpx==" in names
    assert "Django" not in names and "mcp==" not in names  # extras only on request
