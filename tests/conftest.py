from types import SimpleNamespace

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.test import APIClient

from tests import factories

pytest_plugins = ["tests.live_daphne"]


@pytest.fixture(autouse=True)
def _tiny_waits(settings):
    """Blocking question endpoints wait fractions of a second in tests, never minutes."""
    settings.MESH_BLOCK_WAIT_SECONDS = 0.3
    settings.MESH_AUTO_TIMEOUT_SECONDS = 0.3
    settings.MESH_POLL_WAIT_SECONDS = 0.3
    settings.MESH_EXPIRE_SWEEP_SECONDS = 0  # a test that needs the sweep starts it itself


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with no throttle counters.

    On Redis only the cache's own keys go (never FLUSHDB): the channel layer shares the
    database, and a daphne started by another test may still be listening on it.
    """
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        client = backend._cache.get_client(write=True)
        keys = list(client.scan_iter(match=backend.make_key("*")))
        if keys:
            client.delete(*keys)
    else:
        backend.clear()
    yield


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Owners get passwords in every test; the production hasher costs ~1 s per owner."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def owner(db):
    return factories.make_owner("alice")


@pytest.fixture
def other_owner(db):
    return factories.make_owner("mallory")


@pytest.fixture
def owner_token(owner):
    return factories.make_token(owner)


@pytest.fixture
def other_token(other_owner):
    return factories.make_token(other_owner)


@pytest.fixture
def client_for():
    """An API client authenticated with a raw owner token or tool key."""

    def build(*, token: str | None = None, tool_key: str | None = None) -> APIClient:
        client = APIClient()
        headers = {}
        if token:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        if tool_key:
            headers["HTTP_X_MAKIMA_TOOL_KEY"] = tool_key
        client.credentials(**headers)
        return client

    return build


@pytest.fixture
def api(client_for, owner_token):
    return client_for(token=owner_token)


@pytest.fixture
def other_api(client_for, other_token):
    return client_for(token=other_token)


@pytest.fixture
def directive(owner):
    return factories.make_directive(owner)


@pytest.fixture
def task_and_key(owner, directive):
    return factories.make_task(owner, directive)


# A moment 10 s into a minute: a throttled request is told to retry in 50 s.
THROTTLE_FROZEN_NOW = 60 * 1_000_000 + 10.0


@pytest.fixture
def rates(settings, monkeypatch):
    """Set throttle rates for one test (others off) and freeze the throttles' clock."""
    from makima_site import throttles

    monkeypatch.setattr(throttles, "time", SimpleNamespace(time=lambda: THROTTLE_FROZEN_NOW))

    def apply(**scopes: str | None) -> None:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {
                throttles.ASK_SCOPE: None,
                throttles.ANSWER_SCOPE: None,
                throttles.TOKEN_CREATE_SCOPE: None,
                throttles.AUTH_FAILURE_SCOPE: None,
                **scopes,
            },
        }

    return apply
