"""deploy/nginx.conf: its values against the application's settings, and Debian's nginx in
front of a real daphne (PostgreSQL + Redis pass): an ask blocks and wakes through it, a
2 MiB body is refused by nginx, a slow-header client is cut."""

import re
import shutil
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.conf import settings

from deploy import nginx
from mesh.models import Question
from tests import factories
from tests.live_daphne import ARTIFACTS, free_port, off_thread

ASK = "/api/v1/mesh/supervisor/questions"
SETTINGS_SOURCE = (settings.BASE_DIR / "makima_site" / "settings.py").read_text()


def seconds(value: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(ms|s|m)?", value).groups()  # type: ignore[union-attr]
    return int(number) * {"ms": 0.001, "s": 1, "m": 60, None: 1}[unit]


def location_block(text: str, prefix: str) -> str:
    match = re.search(rf"location {re.escape(prefix)} \{{(.*?)\n    \}}", text, re.DOTALL)
    assert match, f"no location {prefix}"
    return match.group(1)


def directive(text: str, name: str) -> str:
    match = re.search(rf"^\s*{name}\s+([^;]+);", text, re.MULTILINE)
    assert match, f"no {name}"
    return match.group(1)


def default_wait(name: str) -> float:
    """The default of a MESH_* wait as settings.py reads it (tests shrink the live values)."""
    match = re.search(rf'env_float\("{name}", (\d+)\)', SETTINGS_SOURCE)
    assert match, name
    return float(match.group(1))


RENDERED = nginx.render(servers=["127.0.0.1:8001", "127.0.0.1:8002"], listen="8080")


def test_render_fills_every_placeholder_with_one_server_line_per_process():
    assert "{{" not in RENDERED
    assert "server 127.0.0.1:8001 max_fails=1 fail_timeout=5s;" in RENDERED
    assert "server 127.0.0.1:8002 max_fails=1 fail_timeout=5s;" in RENDERED
    assert "listen 8080;" in RENDERED


def test_render_refuses_an_override_of_a_directive_the_template_lacks():
    with pytest.raises(nginx.RenderError):
        nginx.render(servers=["127.0.0.1:1"], listen="80", overrides={"no_such_thing": "1"})


def test_the_body_limit_is_the_applications():
    assert directive(RENDERED, "client_max_body_size") == "1m"
    assert settings.MAX_REQUEST_BODY_BYTES == 1024 * 1024


def test_the_waiting_endpoints_read_longer_than_the_longest_wait_unbuffered():
    longest = max(
        default_wait(name)
        for name in (
            "MESH_BLOCK_WAIT_SECONDS",
            "MESH_AUTO_TIMEOUT_SECONDS",
            "MESH_POLL_WAIT_SECONDS",
        )
    )
    block = location_block(RENDERED, "/api/v1/mesh/supervisor/questions")
    assert seconds(directive(block, "proxy_read_timeout")) > longest
    assert directive(block, "proxy_buffering") == "off"


def test_the_feed_location_upgrades_and_keeps_the_forwarded_headers():
    block = location_block(RENDERED, "/ws/")
    assert "proxy_set_header Upgrade $http_upgrade;" in block
    assert 'proxy_set_header Connection "upgrade";' in block
    # A location's own proxy_set_header replaces the server's: each header is repeated.
    for header in ("Host $http_host", "X-Forwarded-For $remote_addr", "X-Forwarded-Proto $scheme"):
        assert f"proxy_set_header {header};" in block
        assert f"proxy_set_header {header};" in RENDERED.split("location")[0]


# --- Debian's nginx in front of a real daphne ---------------------------------------------------

live = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql"
    or not settings.REDIS_URL,
    reason="the nginx test runs in the PostgreSQL + Redis pass (DATABASE_URL and REDIS_URL)",
)


@pytest.fixture
def proxied(daphne_servers, tmp_path):
    """nginx on a free port in front of one daphne, with a 300 ms client_header_timeout."""
    if shutil.which(nginx.NGINX) is None:
        pytest.skip(f"{nginx.NGINX} is missing (Debian's nginx package)")
    server = daphne_servers("nginx", MESH_BLOCK_WAIT_SECONDS="20")
    port = free_port()
    site = nginx.render(
        servers=[f"127.0.0.1:{server.port}"],
        listen=f"127.0.0.1:{port}",
        overrides={"client_header_timeout": "300ms"},
    )
    process = nginx.NginxProcess(tmp_path / "nginx", {"makima": site})
    process.start(health_url=f"http://127.0.0.1:{port}/healthz")
    yield port
    process.stop()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(process.prefix / "error.log", ARTIFACTS / "nginx-error.log")


@live
@pytest.mark.multiprocess
@pytest.mark.django_db(transaction=True)
def test_an_ask_through_nginx_blocks_and_wakes_when_answered(proxied, owner, owner_token):
    task, key = off_thread(lambda: factories.make_task(owner, factories.make_directive(owner)))
    base = f"http://127.0.0.1:{proxied}"
    with ThreadPoolExecutor(max_workers=1) as pool:
        started = time.monotonic()
        pending = pool.submit(
            httpx.post,
            f"{base}{ASK}",
            json={"question": "Through nginx?", "phaseguard": True},
            headers={"X-Makima-Tool-Key": key},
            timeout=30,
        )
        deadline = time.monotonic() + 10
        question = None
        while question is None:
            assert time.monotonic() < deadline, "the ask never reached the database"
            assert not pending.done(), pending.result().text
            question = off_thread(lambda: Question.objects.filter(task=task).first())
            time.sleep(0.02)
        time.sleep(0.2)
        assert not pending.done(), "the ask did not block"
        answered = httpx.post(
            f"{base}/api/v1/mesh/questions/{question.id}/answer",
            json={"response": "yes"},
            headers={"Authorization": f"Bearer {owner_token}"},
        )
        assert answered.status_code == 200, answered.text
        reply = pending.result(timeout=5)
    assert reply.status_code == 200, reply.text
    assert reply.json()["response"] == "yes"
    assert time.monotonic() - started < 10


@live
@pytest.mark.multiprocess
@pytest.mark.django_db(transaction=True)
def test_a_2_mib_body_is_refused_by_nginx(proxied, owner):
    _, key = off_thread(lambda: factories.make_task(owner, factories.make_directive(owner)))
    reply = httpx.post(
        f"http://127.0.0.1:{proxied}{ASK}",
        content=b"x" * (2 * 1024 * 1024),
        headers={"X-Makima-Tool-Key": key, "Content-Type": "application/json"},
        timeout=10,
    )
    assert reply.status_code == 413
    assert "nginx" in reply.text  # nginx's own page: daphne never saw the body
    assert off_thread(lambda: Question.objects.count()) == 0


@live
@pytest.mark.multiprocess
@pytest.mark.django_db(transaction=True)
def test_a_slow_header_client_is_cut(proxied):
    with socket.create_connection(("127.0.0.1", proxied), timeout=5) as client:
        client.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
        started = time.monotonic()
        received = client.recv(4096)
        elapsed = time.monotonic() - started
    assert received == b""  # closed without a reply
    assert elapsed < 3
