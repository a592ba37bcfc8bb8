"""channels_redis with a bounded, queued connection pool per Redis host.

channels_redis gives each host a redis-py ConnectionPool of at most 100 connections that
raises MaxConnectionsError when all are in use. A burst of feed sockets (two group_add
calls each on connect, two group_discard on close) exceeded it: 400 connects at once got
~300 HTTP 500s, and closing 496 sockets at once left 396 group members behind. Here the
pool is redis-py's BlockingConnectionPool: a call that finds every connection busy waits
(in arrival order, on the event loop) up to POOL_TIMEOUT_SECONDS for one to come back
instead of failing. Every call of the layer shares it: the feed's groups, the publisher's
sends and the process's receive loop.

LAYER_UNAVAILABLE_ERRORS are what a layer call raises when Redis cannot be reached (or no
connection freed up in time); the feed refuses a handshake with 1013 on them.
"""

from typing import Any

from channels_redis import core  # type: ignore[import-untyped]
from redis.asyncio import BlockingConnectionPool
from redis.exceptions import RedisError

# Connections per host and process (redis-py's and channels_redis' default size), and how
# long a call waits for a free one before it fails.
POOL_MAX_CONNECTIONS = 100
POOL_TIMEOUT_SECONDS = 10.0

LAYER_UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)


class RedisChannelLayer(core.RedisChannelLayer):
    """The channel layer of the Redis configuration (settings_data.CHANNEL_LAYERS)."""

    def create_pool(self, index: int) -> Any:
        host = dict(self.hosts[index])
        if "address" not in host:  # sentinel or keyword hosts: channels_redis' own pool
            return super().create_pool(index)
        address = host.pop("address")
        host.setdefault("max_connections", POOL_MAX_CONNECTIONS)
        host.setdefault("timeout", POOL_TIMEOUT_SECONDS)
        return BlockingConnectionPool.from_url(address, **host)
