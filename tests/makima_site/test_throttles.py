"""Rate limits: token creation per owner, failed authentications per address, the shared
counter for asks and answers. Rates are tiny here and the clock is frozen mid-window, so a
window boundary can never reset a count during a test."""

import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
from rest_framework import status
from rest_framework.test import APIClient

from makima_site import config, throttles
from mesh.models import ApiToken
from tests.conftest import THROTTLE_FROZEN_NOW as FROZEN_NOW


def assert_throttled(response) -> None:
    assert response.status_code == status.HTTP_429_TOO_MANY_REQUESTS
    body = response.json()
    assert body["code"] == "THROTTLED"
    assert body["message"]
    assert int(response["Retry-After"]) == 50


# --- throttle_check -------------------------------------------------------------------------
def test_throttle_check_allows_up_to_the_rate_then_says_how_long_to_wait(rates):
    """The third request of a 2/min scope waits for the end of the current minute."""
    rates(ask="2/min")
    assert throttles.throttle_check("ask", "task-1") is None
    assert throttles.throttle_check("ask", "task-1") is None
    assert throttles.throttle_check("ask", "task-1") == 50


def test_an_unreachable_cache_lets_requests_through(rates, monkeypatch):
    """Fail open: with the cache (Redis) down, asks/answers and auth checks are not refused."""
    rates(ask="1/min", auth_failure="1/min")

    def unreachable(*args, **kwargs):
        raise ConnectionError("cache is down")

    monkeypatch.setattr(throttles, "_count", unreachable)
    monkeypatch.setattr(throttles.cache, "get", unreachable)
    assert throttles.throttle_check("ask", "task-1") is None
    assert throttles.throttle_check("ask", "task-1") is None
    assert throttles.auth_failure_wait("127.0.0.1") is None


def test_throttle_check_counts_each_identity_apart(rates):
    """One task over its limit does not slow another task."""
    rates(ask="1/min")
    throttles.throttle_check("ask", "task-1")
    assert throttles.throttle_check("ask", "task-1") is not None
    assert throttles.throttle_check("ask", "task-2") is None


def test_throttle_check_with_the_scope_off_never_throttles(rates):
    """A rate of None (THROTTLE_*_RATE=off) switches the scope off."""
    rates(ask=None)
    assert all(throttles.throttle_check("ask", "task-1") is None for _ in range(50))


def test_a_new_window_starts_a_new_count(rates, monkeypatch):
    """Once the window ends the identity may ask again."""
    rates(ask="1/min")
    throttles.throttle_check("ask", "task-1")
    assert throttles.throttle_check("ask", "task-1") is not None
    monkeypatch.setattr(throttles, "time", SimpleNamespace(time=lambda: FROZEN_NOW + 60))
    assert throttles.throttle_check("ask", "task-1") is None


# --- token creation per owner ---------------------------------------------------------------
def test_token_creation_over_the_rate_is_429_and_creates_nothing(rates, api, owner):
    """POST /api/v1/tokens/ beyond the owner's rate is 429 THROTTLED with Retry-After."""
    rates(token_create="2/hour")
    before = ApiToken.objects.filter(owner=owner).count()
    for _ in range(2):
        assert api.post("/api/v1/tokens/", {"name": "x"}, format="json").status_code == 201
    response = api.post("/api/v1/tokens/", {"name": "x"}, format="json")
    assert_throttled_any_wait(response)
    assert ApiToken.objects.filter(owner=owner).count() == before + 2


def assert_throttled_any_wait(response) -> None:
    assert response.status_code == status.HTTP_429_TOO_MANY_REQUESTS
    assert response.json()["code"] == "THROTTLED"
    assert int(response["Retry-After"]) >= 1


def test_token_creation_rate_is_per_owner(rates, api, other_api):
    """One owner at the limit does not stop another from creating tokens."""
    rates(token_create="1/hour")
    assert api.post("/api/v1/tokens/", {}, format="json").status_code == 201
    assert api.post("/api/v1/tokens/", {}, format="json").status_code == 429
    assert other_api.post("/api/v1/tokens/", {}, format="json").status_code == 201


def test_token_creation_rate_leaves_other_token_endpoints_alone(rates, api):
    """Listing tokens is not token creation."""
    rates(token_create="1/hour")
    api.post("/api/v1/tokens/", {}, format="json")
    for _ in range(3):
        assert api.get("/api/v1/tokens/").status_code == 200


# --- failed authentications per address -----------------------------------------------------
def bad_token_client(address: str = "127.0.0.1") -> APIClient:
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION="Bearer mkt_nosuchpre_nosuchsecret")
    return client


def test_failed_authentications_over_the_rate_get_429_even_with_a_good_token(
    rates, db, owner_token
):
    """After the limit of 401s, the address gets 429 before any credential is checked."""
    rates(auth_failure="3/min")
    for _ in range(3):
        assert bad_token_client().get("/api/v1/tasks/").status_code == 401
    assert_throttled(bad_token_client().get("/api/v1/tasks/"))
    good = APIClient(REMOTE_ADDR="127.0.0.1")
    good.credentials(HTTP_AUTHORIZATION=f"Bearer {owner_token}")
    assert_throttled(good.get("/api/v1/tasks/"))


def test_every_kind_of_401_counts_as_a_failed_authentication(rates, db):
    """Missing credentials, a bad token and a tool key on an owner endpoint all count."""
    rates(auth_failure="3/min")
    assert APIClient().get("/api/v1/tasks/").status_code == 401
    assert bad_token_client().get("/api/v1/directives/").status_code == 401
    tool = APIClient()
    tool.credentials(HTTP_X_MAKIMA_TOOL_KEY="mtk_abcdefgh_secret")
    assert tool.get("/api/v1/tokens/").status_code == 401
    assert_throttled(APIClient().get("/api/v1/tasks/"))


def test_successful_requests_do_not_count_as_failures(rates, api):
    """Many authenticated requests never throttle their address."""
    rates(auth_failure="2/min")
    for _ in range(10):
        assert api.get("/api/v1/tasks/").status_code == 200
    assert bad_token_client().get("/api/v1/tasks/").status_code == 401


def test_failed_authentications_are_counted_per_address(rates, db):
    """One address over the limit leaves another address alone."""
    rates(auth_failure="1/min")
    bad_token_client("10.0.0.1").get("/api/v1/tasks/")
    assert_throttled(bad_token_client("10.0.0.1").get("/api/v1/tasks/"))
    assert bad_token_client("10.0.0.2").get("/api/v1/tasks/").status_code == 401


def test_a_forged_forwarded_for_header_does_not_dodge_the_limit(rates, db):
    """With no trusted proxy (NUM_PROXIES=0), X-Forwarded-For is ignored."""
    rates(auth_failure="1/min")
    bad_token_client().get("/api/v1/tasks/", HTTP_X_FORWARDED_FOR="1.1.1.1")
    response = bad_token_client().get("/api/v1/tasks/", HTTP_X_FORWARDED_FOR="2.2.2.2")
    assert_throttled(response)


def test_behind_one_proxy_the_forwarded_address_is_the_client(rates, settings, db):
    """With NUM_PROXIES=1 the last X-Forwarded-For entry is the client's address."""
    rates(auth_failure="1/min")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    bad_token_client("10.9.9.9").get("/api/v1/tasks/", HTTP_X_FORWARDED_FOR="1.1.1.1")
    again = bad_token_client("10.9.9.9").get("/api/v1/tasks/", HTTP_X_FORWARDED_FOR="1.1.1.1")
    assert_throttled(again)
    other = bad_token_client("10.9.9.9").get("/api/v1/tasks/", HTTP_X_FORWARDED_FOR="2.2.2.2")
    assert other.status_code == 401


def test_scope_client_address_reads_an_asgi_scope(settings):
    """The Channels consumers find the caller's address the same way."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    scope = {"client": ("10.0.0.5", 5555), "headers": [(b"x-forwarded-for", b"9.9.9.9, 8.8.8.8")]}
    assert throttles.scope_client_address(scope) == "8.8.8.8"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 0}
    assert throttles.scope_client_address(scope) == "10.0.0.5"


def test_pages_outside_the_api_are_not_throttled(rates, db):
    """Paths outside /api/v1/ (here the schema) stay reachable from a throttled address."""
    rates(auth_failure="1/min")
    bad_token_client().get("/api/v1/tasks/")
    assert_throttled(bad_token_client().get("/api/v1/tasks/"))
    assert APIClient().get("/api/schema/").status_code == 200


# --- answers per owner ----------------------------------------------------------------------
def test_answer_throttle_counts_per_owner(rates, owner, other_owner):
    """AnswerThrottle lets an owner answer up to the rate, then reports the wait."""
    rates(answer="2/min")
    throttle = throttles.AnswerThrottle()
    request = SimpleNamespace(user=owner)
    assert throttle.allow_request(request, None)
    assert throttle.allow_request(request, None)
    assert not throttle.allow_request(request, None)
    assert throttle.wait() == 50
    assert throttles.AnswerThrottle().allow_request(SimpleNamespace(user=other_owner), None)


# --- settings ---------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["many", "10", "10/fortnight", "-1/min", "x/min"])
def test_a_malformed_rate_in_the_environment_is_refused(monkeypatch, capsys, value):
    """THROTTLE_*_RATE must be N/period or off; anything else stops the site at start."""
    monkeypatch.setenv("THROTTLE_ASK_RATE", value)
    with pytest.raises(SystemExit):
        config.env_rate("THROTTLE_ASK_RATE", "1/min")
    assert "THROTTLE_ASK_RATE" in capsys.readouterr().err


@pytest.mark.parametrize(("value", "expected"), [("off", None), ("5/s", "5/s"), ("", "1/min")])
def test_rates_from_the_environment(monkeypatch, value, expected):
    """A well-formed rate is kept, off switches the scope off, empty means the default."""
    monkeypatch.setenv("THROTTLE_ASK_RATE", value)
    assert config.env_rate("THROTTLE_ASK_RATE", "1/min") == expected


async def test_async_auth_failure_helpers_share_the_middlewares_count(rates):
    """A consumer's 401s and the middleware's count against the same address."""
    rates(auth_failure="2/min")
    await throttles.aauth_failure_record("10.1.1.1")
    assert await throttles.aauth_failure_wait("10.1.1.1") is None
    throttles.auth_failure_record("10.1.1.1")
    assert await throttles.aauth_failure_wait("10.1.1.1") == 50
    assert await throttles.aauth_failure_wait("10.1.1.2") is None


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (the shared cache)")
def test_on_redis_the_limit_holds_across_processes(settings):
    """Requests counted by another process count here too: the counter lives in Redis."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {throttles.ASK_SCOPE: "3/day"},
    }
    other_process = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from makima_site import throttles; "
            "print([throttles.throttle_check('ask', 'shared-task') for _ in range(2)])",
        ],
        env={**os.environ, "THROTTLE_ASK_RATE": "3/day"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert other_process.stdout.strip() == "[None, None]", other_process.stderr
    assert throttles.throttle_check("ask", "shared-task") is None
    assert throttles.throttle_check("ask", "shared-task") is not None
