"""The Redis channel layer's settings (makima_site/settings.py)."""

import pytest
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.conf import settings


@pytest.mark.skipif(not settings.REDIS_URL, reason="the Redis layer is configured by REDIS_URL")
def test_redis_read_timeout_outlasts_the_blocking_receive():
    """Reads may block longer than channels_redis's BZPOPMIN wait, or a busy process times
    out its shared receive and every socket it holds dies with "Timeout reading from"."""
    layer = get_channel_layer()
    assert isinstance(layer, RedisChannelLayer)
    (host,) = layer.hosts
    assert host["socket_timeout"] >= layer.brpop_timeout + 10
