"""Django's Redis cache backend, with one connection pool per process instead of per thread.

Django keeps a cache backend instance per thread, and each instance of its RedisCacheClient
builds its own redis-py ConnectionPool. Under ASGI every request runs in a fresh thread, so
every request that touched the cache (the failed-authentication check does, on every API
request) opened a new Redis connection (TCP connect, HELLO, CLIENT SETINFO): measured at a
quarter of a plain request's CPU on a 2-core machine. redis-py pools are thread-safe; here
they are shared by every backend instance with the same servers and options.
"""

import threading

from django.core.cache.backends import redis as django_redis

_pools: dict[tuple, object] = {}
_pools_lock = threading.Lock()


def shared_pools() -> list[object]:
    """The connection pools this process shares between its cache backends."""
    with _pools_lock:
        return list(_pools.values())


class SharedPoolRedisCacheClient(django_redis.RedisCacheClient):
    def _get_connection_pool(self, write):
        index = self._get_connection_pool_index(write)
        key = (self._servers[index], tuple(sorted(self._pool_options.items())))
        pool = _pools.get(key)
        if pool is None:
            with _pools_lock:
                pool = _pools.get(key)
                if pool is None:
                    pool = _pools[key] = self._pool_class.from_url(
                        self._servers[index], **self._pool_options
                    )
        return pool


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedPoolRedisCacheClient
