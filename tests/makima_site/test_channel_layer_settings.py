"""The Redis channel layer's connections outlast its own blocking reads."""

import pytest
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.conf import settings


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL (the Redis channel layer)")
def test_redis_socket_timeout_outlasts_the_blocking_receive():
    """An idle receive() (BZPOPMIN, brpop_timeout) must not hit the socket's read timeout."""
    layer = get_channel_layer()
    assert isinstance(layer, RedisChannelLayer)
    pool = layer.create_pool(0)
    assert pool.connection_kwargs["socket_timeout"] > layer.brpop_timeout
