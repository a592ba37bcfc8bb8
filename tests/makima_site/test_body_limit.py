"""The 1 MiB body limit where the body arrives (makima_site/body_limit.py): a real daphne
refuses a declared length over the limit before reading the body, and cuts a chunked body
at the limit, spooling nothing; the ASGI layer does the same for Django's handler."""

import json
import os
import socket
import time
from pathlib import Path

import pytest
from asgiref.testing import ApplicationCommunicator
from django.conf import settings

from makima_site.body_limit import BodyLimitMiddleware
from tests.live_daphne import DaphneServer

HUGE = 300 * 1024 * 1024
DIRECTIVES = "/api/v1/directives/"
ASK = "/api/v1/mesh/supervisor/questions"


@pytest.fixture
def server(module_daphne):
    return module_daphne("body-limit")


def open_socket(server: DaphneServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    return sock


def head(path: str, *lines: str) -> bytes:
    text = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    return (text + "".join(f"{line}\r\n" for line in lines) + "\r\n").encode()


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read until the server closes (the 413 ends the connection)."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    raw_head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = raw_head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), {k.lower(): v for k, v in headers.items()}, body


def spooled_files(pid: int) -> list[str]:
    """The temporary files the process holds open (Twisted spools a body to one)."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(("/tmp/", "/var/tmp/")) or "(deleted)" in target:  # noqa: S108
            found.append(target)
    return found


def assert_too_large(status: int, headers: dict[str, str], body: bytes) -> None:
    assert status == 413
    assert headers["content-type"] == "application/json"
    assert headers["x-content-type-options"] == "nosniff"
    assert json.loads(body)["code"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize("path", [DIRECTIVES, ASK])
def test_declared_300_mib_is_413_before_the_body_is_sent(server, path):
    """Content-Length: 300 MiB and 64 KiB of body: 413 at once, and daphne holds no
    temporary file for it (on main it waited for, and spooled, the whole 300 MiB)."""
    before = spooled_files(server.process.pid)
    with open_socket(server) as sock:
        started = time.monotonic()
        sock.sendall(head(path, f"Content-Length: {HUGE}") + b"x" * 65536)
        status, headers, body = read_response(sock)
        elapsed = time.monotonic() - started
        assert spooled_files(server.process.pid) == before
    assert_too_large(status, headers, body)
    assert elapsed < 2


def test_expect_100_continue_over_the_limit_gets_413_not_continue(server):
    """A client that waits for 100 Continue before sending 300 MiB is told 413 instead."""
    with open_socket(server) as sock:
        sock.sendall(head(DIRECTIVES, f"Content-Length: {HUGE}", "Expect: 100-continue"))
        status, headers, body = read_response(sock)
    assert_too_large(status, headers, body)


@pytest.mark.parametrize("path", [DIRECTIVES, ASK])
def test_chunked_body_is_cut_at_the_limit(server, path):
    """A chunked body without an end: 413 as soon as 1 MiB has arrived, not at its end."""
    chunk = b"x" * 65536
    with open_socket(server) as sock:
        sock.sendall(head(path, "Transfer-Encoding: chunked"))
        sent = 0
        try:
            while sent <= settings.MAX_REQUEST_BODY_BYTES + len(chunk):
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                sent += len(chunk)
        except OSError:
            pass  # the server may close its side as soon as it refused
        status, headers, body = read_response(sock)
    assert_too_large(status, headers, body)


def test_bodies_within_the_limit_still_reach_the_api(server):
    """A declared and a chunked body under the limit are served as before (401 here: no
    credential), and the connection stays usable."""
    payload = json.dumps({"title": "t", "goal": "g" * 200_000}).encode()
    with open_socket(server) as sock:
        sock.sendall(head(DIRECTIVES, f"Content-Length: {len(payload)}") + payload)
        assert sock.recv(65536).startswith(b"HTTP/1.1 401")
    with open_socket(server) as sock:
        sock.sendall(
            head(DIRECTIVES, "Transfer-Encoding: chunked")
            + b"%x\r\n" % len(payload)
            + payload
            + b"\r\n0\r\n\r\n"
        )
        assert sock.recv(65536).startswith(b"HTTP/1.1 401")


# --- the ASGI layer (servers that stream the body to the application) -----------------------
async def _inner(scope, receive, send):
    """An application that reads the whole body first, as Django's handler does."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _scope(*headers: tuple[bytes, bytes]) -> dict:
    return {"type": "http", "method": "POST", "path": "/", "headers": list(headers)}


async def test_asgi_declared_length_over_the_limit_is_413_without_reading():
    """BodyLimitMiddleware answers 413 before the application (or the body) is touched."""
    app = ApplicationCommunicator(
        BodyLimitMiddleware(_inner), _scope((b"content-length", str(HUGE).encode()))
    )
    start = await app.receive_output(2)
    body = await app.receive_output(2)
    assert start["status"] == 413
    assert json.loads(body["body"])["code"] == "PAYLOAD_TOO_LARGE"


async def test_asgi_streamed_body_is_cut_at_the_limit():
    """Chunks past 1 MiB: the application sees a hang-up, the client gets 413."""
    app = ApplicationCommunicator(BodyLimitMiddleware(_inner), _scope())
    chunk = b"x" * (512 * 1024)
    for _ in range(3):
        await app.send_input({"type": "http.request", "body": chunk, "more_body": True})
    start = await app.receive_output(2)
    assert start["status"] == 413
