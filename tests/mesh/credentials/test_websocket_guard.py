"""The feed's handshake on a real daphne: the Origin rule by credential kind, and the
failed-authentication limit that bad tokens on the socket count against (4429 when over)."""

import json

import httpx
import pytest
from django.conf import settings
from django.test import Client
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests import factories
from tests.live_daphne import off_thread

pytestmark = pytest.mark.django_db(transaction=True)

FEED = "/ws/v1/mesh/questions/"


def _session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def _url(server) -> str:
    # By name, as a browser on http://localhost:<port> addresses it (Host: localhost:<port>).
    return f"ws://localhost:{server.port}{FEED}"


def _handshake(server, *, origin: str | None, token: str | None = None, cookie: str = ""):
    """("open", first frame) or ("refused", HTTP status) or ("closed", close code)."""
    try:
        with connect(
            _url(server),
            origin=origin,  # type: ignore[arg-type]
            subprotocols=["makima.bearer", token] if token is not None else None,  # type: ignore[list-item]
            additional_headers={"Cookie": cookie} if cookie else None,
            open_timeout=10,
        ) as socket:
            try:
                return "open", json.loads(socket.recv(timeout=10))["type"]
            except ConnectionClosed as closed:
                return "closed", closed.rcvd.code if closed.rcvd else None
    except InvalidStatus as refused:
        return "refused", refused.response.status_code


@pytest.fixture
def server(daphne_servers):
    return daphne_servers("origin", CSRF_TRUSTED_ORIGINS="http://localhost:9998")


# --- item 9: the Origin rule -----------------------------------------------------------------
def test_a_session_socket_needs_the_sites_exact_origin_port_included(owner, server):
    """Same host, another port is another site: refused (403); the site's own origin and a
    CSRF_TRUSTED_ORIGINS entry are accepted; no Origin at all is refused."""
    cookie = off_thread(_session_cookie, owner)
    site = f"http://localhost:{server.port}"
    assert _handshake(server, origin="http://localhost:9999", cookie=cookie) == ("refused", 403)
    assert _handshake(server, origin=f"https://localhost:{server.port}", cookie=cookie) == (
        "refused",
        403,
    )
    assert _handshake(server, origin=None, cookie=cookie) == ("refused", 403)
    assert _handshake(server, origin=site, cookie=cookie) == ("open", "snapshot")
    assert _handshake(server, origin="http://localhost:9998", cookie=cookie) == ("open", "snapshot")


def test_a_token_socket_needs_no_origin_but_a_foreign_one_is_refused(owner_token, server):
    """A program (no Origin) connects with its token; a page on another site cannot, token
    or not; the site's own page can."""
    assert _handshake(server, origin=None, token=owner_token) == ("open", "snapshot")
    assert _handshake(server, origin="http://localhost:9999", token=owner_token) == (
        "refused",
        403,
    )
    assert _handshake(server, origin="https://evil.example", token=owner_token) == (
        "refused",
        403,
    )
    assert _handshake(server, origin=f"http://localhost:{server.port}", token=owner_token) == (
        "open",
        "snapshot",
    )


# --- item 8: the failed-authentication limit ------------------------------------------------
def test_bad_tokens_on_the_socket_count_and_a_locked_out_address_gets_4429(
    owner_token, daphne_servers
):
    """Each bad bearer token counts one failure of the address (4401); past the limit even
    the right token is refused with 4429 before it is looked at, and so are HTTP calls."""
    server = daphne_servers("lockout", THROTTLE_AUTH_FAILURE_RATE="3/min")
    for _ in range(3):
        assert _handshake(server, origin=None, token="mkt_wrong") == ("closed", 4401)
    assert _handshake(server, origin=None, token=owner_token) == ("closed", 4429)
    api = httpx.get(
        f"{server.base_url}/api/v1/tasks/", headers={"Authorization": f"Bearer {owner_token}"}
    )
    assert api.status_code == 429
    assert api.json()["code"] == "THROTTLED"


def test_failed_http_authentications_lock_the_socket_out_too(owner_token, daphne_servers):
    """One limit for both: 401s over HTTP lock the address's sockets out (4429)."""
    server = daphne_servers("lockout-http", THROTTLE_AUTH_FAILURE_RATE="3/min")
    for _ in range(3):
        reply = httpx.get(
            f"{server.base_url}/api/v1/tasks/", headers={"Authorization": "Bearer mkt_wrong"}
        )
        assert reply.status_code == 401
    assert _handshake(server, origin=None, token=owner_token) == ("closed", 4429)


def test_good_handshakes_count_nothing(owner, daphne_servers):
    """Only failures count: many good token sockets leave the address free."""
    token = factories.make_token(owner)
    server = daphne_servers("lockout-good", THROTTLE_AUTH_FAILURE_RATE="3/min")
    for _ in range(5):
        assert _handshake(server, origin=None, token=token) == ("open", "snapshot")
