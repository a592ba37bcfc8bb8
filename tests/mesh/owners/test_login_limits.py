"""Both login pages on a real daphne with the production password hasher: one failed-login
limit (per address and per username; 429 page with Retry-After), and a bounded number of
logins hashing at once, so an unrelated request is served during a login flood."""

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager

import httpx
import pytest
from django.contrib.auth.hashers import make_password

from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

PBKDF2 = "django.contrib.auth.hashers.PBKDF2PasswordHasher"
LOGINS = ("/accounts/login/", "/admin/login/")


@pytest.fixture
def olga(settings):
    """A staff owner whose password is stored with PBKDF2, as the server hashes it."""
    settings.PASSWORD_HASHERS = [*settings.PASSWORD_HASHERS, PBKDF2]
    user = factories.make_owner("olga", is_staff=True)
    user.password = make_password("olga-password", hasher="pbkdf2_sha256")
    user.save()
    return user


@contextmanager
def _client(server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        client.get("/accounts/login/")
        yield client


def _login(client: httpx.Client, path: str, password: str, forwarded_for: str | None = None):
    headers = {"Referer": f"{client.base_url}{path}"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    return client.post(
        path,
        data={
            "username": "olga",
            "password": password,
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
        headers=headers,
    )


def test_the_admin_login_shares_the_failed_login_limit_of_the_owners_login(olga, daphne_servers):
    """Failures on either page count together; past the limit even the right password gets
    the 429 page with Retry-After on both pages, and nobody is logged in."""
    # An hour's window: the limits count in fixed windows, and a minute's could end mid-test.
    server = daphne_servers("login-limit", THROTTLE_AUTH_FAILURE_RATE="3/hour")
    with _client(server) as client:
        assert _login(client, "/admin/login/", "wrong").status_code == 200
        assert _login(client, "/accounts/login/", "wrong").status_code == 200
        assert _login(client, "/admin/login/", "wrong").status_code == 200
        for path in LOGINS:
            refused = _login(client, path, "olga-password")
            assert refused.status_code == 429, path
            assert int(refused.headers["Retry-After"]) >= 1
            assert "Too many failed logins" in refused.text
        assert "sessionid" not in client.cookies
        assert client.get("/admin/").status_code == 302  # to the login page


def test_failed_logins_are_limited_per_username_from_any_address(olga, daphne_servers):
    """Guesses from three addresses (one proxy in front) lock the username, not only the
    addresses: a fourth address with the right password is refused too."""
    server = daphne_servers(
        "login-username", THROTTLE_AUTH_FAILURE_RATE="3/hour", THROTTLE_NUM_PROXIES="1"
    )
    with _client(server) as client:
        for address in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
            assert _login(client, "/admin/login/", "wrong", address).status_code == 200
        assert _login(client, "/admin/login/", "olga-password", "198.51.100.4").status_code == 429


def test_a_login_flood_leaves_an_unrelated_request_served(olga, owner_token, daphne_servers):
    """With 2 request slots and 1 login slot, 6 concurrent login posts (each a PBKDF2 hash)
    queue for the login slot without taking request slots: a GET sent while they are queued
    is served before they are through."""
    server = daphne_servers(
        "login-flood",
        MAX_CONCURRENT_REQUESTS="2",
        MAX_CONCURRENT_LOGINS="1",
        LOGIN_QUEUE_TIMEOUT="120",
        THROTTLE_AUTH_FAILURE_RATE="off",
        MESH_OPS_ENDPOINTS="1",
    )
    finished: list[float] = []
    lock = threading.Lock()

    def login(client: httpx.Client) -> int:
        status = _login(client, "/accounts/login/", "wrong").status_code
        with lock:
            finished.append(time.monotonic())
        return status

    with ExitStack() as stack, ThreadPoolExecutor(max_workers=6) as pool:
        clients = [stack.enter_context(_client(server)) for _ in range(6)]
        logins = [pool.submit(login, client) for client in clients]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            stats = httpx.get(f"{server.base_url}/_ops/wakehub").json()["logins"]
            if stats["waiting"] >= 3:
                break
            time.sleep(0.02)
        assert stats["waiting"] >= 3, stats
        get = httpx.get(
            f"{server.base_url}/api/v1/tasks/",
            headers={"Authorization": f"Bearer {owner_token}"},
            timeout=60,
        )
        served_at = time.monotonic()
        assert get.status_code == 200
        with lock:
            done_before_get = sum(1 for at in finished if at <= served_at)
        assert done_before_get <= 3  # at least 3 logins were still queued
        assert [future.result() for future in logins] == [200] * 6


def test_logins_queued_too_long_get_429(olga, daphne_servers):
    """Past LOGIN_QUEUE_TIMEOUT a queued login is refused with 429 and Retry-After."""
    server = daphne_servers(
        "login-queue",
        MAX_CONCURRENT_LOGINS="1",
        LOGIN_QUEUE_TIMEOUT="0.05",
        THROTTLE_AUTH_FAILURE_RATE="off",
    )
    with ExitStack() as stack, ThreadPoolExecutor(max_workers=4) as pool:
        clients = [stack.enter_context(_client(server)) for _ in range(4)]
        replies = list(pool.map(lambda c: _login(c, "/admin/login/", "wrong"), clients))
    statuses = sorted(reply.status_code for reply in replies)
    assert statuses[0] == 200
    assert 429 in statuses
    refused = next(reply for reply in replies if reply.status_code == 429)
    assert refused.headers["Retry-After"] == "1"
