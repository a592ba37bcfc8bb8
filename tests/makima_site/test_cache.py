"""makima_site.cache: one Redis connection pool per process, whatever thread asks."""

import threading

import pytest
from django.conf import settings
from django.core.cache import caches

from makima_site import cache as shared_cache

pytestmark = pytest.mark.skipif(
    not settings.REDIS_URL, reason="the Redis cache is configured by REDIS_URL"
)


def test_every_thread_uses_the_same_connection_pool():
    """Django makes a cache backend per thread; they must not open a pool (and a
    connection) each, as a new thread per ASGI request would."""
    pools, backends = [], []

    def use_cache():
        backend = caches["default"]
        backend.set("pool-check", 1, timeout=5)
        backends.append(backend)
        pools.append(backend._cache._get_connection_pool(write=True))

    threads = [threading.Thread(target=use_cache) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(backend) for backend in backends}) == 3
    assert len({id(pool) for pool in pools}) == 1
    assert pools[0] in shared_cache.shared_pools()
    assert caches["default"].get("pool-check") == 1
