"""Rate limits, counted in Django's cache so they hold across processes (Redis) or within one
(local memory).

Each limit is a *scope* with a rate "N/period" (period s, min, hour or day) in
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], read from the environment in settings.py; a rate
of None switches the scope off. Counting uses fixed windows: one cache counter per scope,
identity and window, created with add() and bumped with incr(). Both are atomic in Redis,
so concurrent processes never lose a count (DRF's SimpleRateThrottle reads and rewrites a
history list, which races across processes).

- `throttle_check(scope, ident)` counts one request and returns the seconds to wait when
  over the limit (None when allowed); the ask endpoint calls it in its database step.
- `OwnerScopedThrottle` subclasses are the DRF throttles per owner.
- Failed authentications per client address are counted by
  makima_site.middleware.AuthFailureThrottleMiddleware with `auth_failure_record` and
  checked, before any credential is looked at, with `auth_failure_wait`. The Channels
  consumers, which Django's middleware never sees, await `aauth_failure_wait` /
  `aauth_failure_record` with `scope_client_address(scope)`.
"""

import logging
import math
import time
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

ASK_SCOPE = "ask"
ANSWER_SCOPE = "answer"
TOKEN_CREATE_SCOPE = "token_create"  # noqa: S105 (a scope name, not a secret)
AUTH_FAILURE_SCOPE = "auth_failure"

_KEY_FORMAT = "throttle:{scope}:{ident}:{window}"

logger = logging.getLogger(__name__)


def _rate(scope: str) -> tuple[int, int] | None:
    """(requests, seconds) of the scope, or None when it is not limited."""
    rate = api_settings.DEFAULT_THROTTLE_RATES.get(scope)
    if not rate:
        return None
    # DRF's parser of "N/period" never uses its instance (and __init__ needs a scope).
    requests, seconds = SimpleRateThrottle.parse_rate(None, str(rate))  # type: ignore[arg-type]
    assert requests is not None and seconds is not None  # a rate given is always parsed
    return requests, seconds


def _window(duration: int, now: float) -> tuple[int, float]:
    """The current window's index and the seconds until it ends."""
    index = int(now // duration)
    return index, (index + 1) * duration - now


@dataclass(frozen=True)
class _Window:
    key: str  # the counter of `ident` in this window
    limit: int
    duration: int
    remaining: float  # seconds until the window ends


def _current_window(scope: str, ident: object) -> _Window | None:
    """The counter window of `ident` in `scope` right now; None when the scope is unlimited."""
    rate = _rate(scope)
    if rate is None:
        return None
    limit, duration = rate
    index, remaining = _window(duration, time.time())
    key = _KEY_FORMAT.format(scope=scope, ident=ident, window=index)
    return _Window(key, limit, duration, remaining)


def _retry_after(wait: float) -> float:
    # Whole seconds, at least one: a client told "0" would retry at once and be refused again.
    return float(max(1, math.ceil(wait)))


def _count(key: str, *, timeout: int) -> int:
    """Add one to the counter `key` (created with `timeout`) and return the new count."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        # One round trip instead of Django's three (add; incr = EXISTS + INCR): SET NX EX
        # then INCR in one pipeline. Plain integers are what RedisCache stores for ints, so
        # cache.get() reads the counter back. backend._cache is RedisCache's client, a Django
        # internal: test_on_redis_the_limit_holds_across_processes fails if it changes.
        name = backend.make_and_validate_key(key)
        with backend._cache.get_client(name, write=True).pipeline() as pipe:
            pipe.set(name, 0, ex=timeout, nx=True)
            pipe.incr(name)
            return pipe.execute()[1]
    backend.add(key, 0, timeout=timeout)
    try:
        return backend.incr(key)
    except ValueError:
        # The window expired between add() and incr(): this is the first request of the next.
        backend.add(key, 1, timeout=timeout)
        return 1


def throttle_check(scope: str, ident: object) -> float | None:
    """Count one request of `ident` in `scope`; the seconds to wait if it is over the limit."""
    window = _current_window(scope, ident)
    if window is None:
        return None
    try:
        count = _count(window.key, timeout=window.duration + 1)
    except Exception:
        # Fail open: an unreachable cache (Redis down) must not stop owners answering or
        # tasks asking; limits resume when it is back.
        logger.warning("Rate limit %s not counted: the cache is unreachable", scope)
        return None
    if count > window.limit:
        return _retry_after(window.remaining)
    return None


def auth_failure_wait(address: str) -> float | None:
    """Seconds `address` must wait because it failed authentication too often, else None.

    Only reads the counter: a request is counted by `auth_failure_record` once it got a 401.
    """
    window = _current_window(AUTH_FAILURE_SCOPE, address)
    if window is None:
        return None
    try:
        failures = cache.get(window.key) or 0
    except Exception:
        logger.warning("Failed-authentication limit not checked: the cache is unreachable")
        return None
    if failures >= window.limit:
        return _retry_after(window.remaining)
    return None


def auth_failure_record(address: str) -> None:
    """Count one failed authentication (a 401) from `address`."""
    throttle_check(AUTH_FAILURE_SCOPE, address)


aauth_failure_wait = sync_to_async(auth_failure_wait, thread_sensitive=False)
aauth_failure_record = sync_to_async(auth_failure_record, thread_sensitive=False)


def client_address(remote_addr: str | None, forwarded_for: str | None) -> str:
    """The caller's address, trusting X-Forwarded-For only as far as REST_FRAMEWORK["NUM_PROXIES"].

    The same rule as DRF's BaseThrottle.get_ident, usable from ASGI scopes as well.
    """
    num_proxies = api_settings.NUM_PROXIES
    if num_proxies is None:
        return "".join(forwarded_for.split()) if forwarded_for else (remote_addr or "")
    if num_proxies == 0 or not forwarded_for:
        return remote_addr or ""
    addresses = forwarded_for.split(",")
    return addresses[-min(num_proxies, len(addresses))].strip()


def request_client_address(request) -> str:
    return client_address(request.META.get("REMOTE_ADDR"), request.headers.get("x-forwarded-for"))


def scope_client_address(scope: dict) -> str:
    """client_address() of an ASGI HTTP scope (for the waiting endpoints)."""
    client = scope.get("client") or (None, None)
    forwarded_for = None
    for name, value in scope.get("headers", []):
        if name == b"x-forwarded-for":
            forwarded_for = value.decode("latin-1")
    return client_address(client[0], forwarded_for)


class OwnerScopedThrottle(BaseThrottle):
    """A DRF throttle counting requests per authenticated owner in `scope`."""

    scope: str = ""

    def __init__(self):
        self._wait: float | None = None

    def allow_request(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return True
        self._wait = throttle_check(self.scope, request.user.pk)
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait


class AnswerThrottle(OwnerScopedThrottle):
    """Answers per owner (POST /api/v1/mesh/questions/{id}/answer)."""

    scope = ANSWER_SCOPE


class TokenCreateThrottle(OwnerScopedThrottle):
    """API tokens created per owner (POST /api/v1/tokens/)."""

    scope = TOKEN_CREATE_SCOPE
