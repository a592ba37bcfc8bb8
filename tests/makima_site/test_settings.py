"""Configuration from the environment: the refusal to start unsafely, and static files in
both modes."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
DAPHNE = Path(sys.executable).parent / "daphne"


def clean_env(**overrides) -> dict[str, str]:
    """The environment without any of the project's variables, plus overrides."""
    ours = {
        "DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS", "SQLITE_PATH",
        "STATIC_ROOT", "SECURE_SSL_REDIRECT", "DJANGO_SETTINGS_MODULE",
    }  # fmt: skip
    env = {key: value for key, value in os.environ.items() if key not in ours}
    env.update(overrides)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_one_line_refusal(result: subprocess.CompletedProcess, mentions: str) -> None:
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("makima: refusing to start:")
    assert mentions in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("debug", ["0", "false", "off"])
def test_manage_py_refuses_without_secret_key(debug, tmp_path):
    """DEBUG off and no SECRET_KEY: manage.py exits 1 with a one-line explanation."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=clean_env(DEBUG=debug, SQLITE_PATH=str(tmp_path / "db.sqlite3")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_one_line_refusal(result, "SECRET_KEY")


def test_daphne_refuses_without_secret_key(tmp_path):
    """DEBUG off and no SECRET_KEY: daphne exits 1 with a one-line explanation, serves nothing."""
    result = subprocess.run(
        [str(DAPHNE), "-b", "127.0.0.1", "-p", str(free_port()), "makima_site.asgi:application"],
        cwd=ROOT,
        env=clean_env(DEBUG="0", SQLITE_PATH=str(tmp_path / "db.sqlite3")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_one_line_refusal(result, "SECRET_KEY")


def test_bad_number_is_refused(tmp_path):
    """A non-numeric wait setting is refused in one line naming the variable."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=clean_env(MESH_BLOCK_WAIT_SECONDS="soon", SQLITE_PATH=str(tmp_path / "db.sqlite3")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_one_line_refusal(result, "MESH_BLOCK_WAIT_SECONDS")


@pytest.mark.parametrize("value", ["fast", "1,2", "1,2,-3"])
def test_bad_gc_thresholds_are_refused(tmp_path, value):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=clean_env(GC_THRESHOLDS=value, SQLITE_PATH=str(tmp_path / "db.sqlite3")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_one_line_refusal(result, "GC_THRESHOLDS")


def test_the_asgi_application_sets_the_gc_thresholds(tmp_path):
    """Loading makima_site.asgi (what daphne does) freezes the startup objects and applies
    GC_THRESHOLDS."""
    script = "import gc, makima_site.asgi; print(gc.get_threshold(), gc.get_freeze_count() > 10000)"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=clean_env(GC_THRESHOLDS="5000,15,25", SQLITE_PATH=str(tmp_path / "db.sqlite3")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(5000, 15, 25) True"


def test_debug_off_with_secret_key_starts(tmp_path):
    """With SECRET_KEY set, DEBUG off is accepted."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=clean_env(DEBUG="0", SECRET_KEY="x" * 50, SQLITE_PATH=str(tmp_path / "db.sqlite3")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_admin_static_is_served_in_development(db):
    """With DEBUG on (no collectstatic), the admin's CSS is served from the apps."""
    response = Client().get("/static/admin/css/base.css")
    assert response.status_code == 200
    assert b"body" in b"".join(response.streaming_content)


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310  (local URL)
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_admin_static_is_served_by_daphne_with_debug_off(tmp_path):
    """DEBUG off, after collectstatic: daphne serves the admin login page and its CSS."""
    env = clean_env(
        DEBUG="0",
        SECRET_KEY="x" * 50,
        SECURE_SSL_REDIRECT="0",
        STATIC_ROOT=str(tmp_path / "static"),
        SQLITE_PATH=str(tmp_path / "db.sqlite3"),
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0", "-i", "rest_framework"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    port = free_port()
    server = subprocess.Popen(
        [str(DAPHNE), "-b", "127.0.0.1", "-p", str(port), "makima_site.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "daphne did not start"
                time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        status, page = fetch(f"{base}/admin/login/")
        assert status == 200
        css = next(
            line.split('href="', 1)[1].split('"', 1)[0]
            for line in page.decode().splitlines()
            if "admin/css/base" in line
        )
        assert css != "/static/admin/css/base.css"  # hashed name, from the manifest
        status, body = fetch(f"{base}{css}")
        assert status == 200 and b"body" in body
        assert fetch(f"{base}/static/admin/css/base.css")[0] == 200
    finally:
        server.terminate()
        server.wait(timeout=10)
