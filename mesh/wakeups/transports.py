"""How wakes travel between processes: Redis pub/sub, or a channel-layer group.

docs/architecture.md ("The wake") says why pub/sub between processes and why the listener's
channel shares the layer's default prefix.
"""

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypedDict

from channels.layers import get_channel_layer
from django.conf import settings

logger = logging.getLogger(__name__)

WAKE_GROUP = "mesh.wakeups"
WAKE_MESSAGE_TYPE = "question.settled"

# The listener's channel is a process-local ("!") channel with the layer's default prefix:
# channels_redis lets ONE receive() at a time read a layer's process-local messages, and that
# receive reads only its own prefix's Redis list; a listener on a prefix of its own held that
# lock forever, so websocket consumers (and /healthz) on "specific.*!" channels in the same
# process never got a message. Sharing "specific" puts every local message in one list, which
# whichever receive holds the lock hands out. Its capacity is set in settings.CHANNEL_LAYERS.
LISTENER_CHANNEL_PREFIX = "specific"
# The group membership is refreshed this often, well inside the layer's group_expiry.
MAX_REFRESH_SECONDS = 300.0
MIN_REFRESH_SECONDS = 1.0
# Redis pub/sub (several processes): connect timeout, how often the subscriber wakes up to
# ping an idle connection, and how long a publish may block an answering request.
PUBSUB_CONNECT_TIMEOUT_SECONDS = 5.0
PUBSUB_POLL_SECONDS = 1.0
PUBSUB_HEALTH_CHECK_SECONDS = 10.0
PUBLISH_TIMEOUT_SECONDS = 2.0
PUBSUB_CLIENT_NAME = "makima-wakehub"  # the subscriber in Redis' CLIENT LIST
# Leaving the group or closing a connection never waits longer than this.
CLOSE_TIMEOUT_SECONDS = 2.0


class Wake(TypedDict):
    """A wake message: the question that settled and its outcome (None: "read the row")."""

    type: str
    question_id: str
    outcome: dict[str, Any] | None


Joined = Callable[[], None]
Dispatch = Callable[[dict[str, Any]], None]


class WakeTransport(Protocol):
    async def run(self, joined: Joined, dispatch: Dispatch) -> None:
        """Listen for wakes: call joined() once listening, dispatch(message) per wake; raise
        when broken (the hub restarts it with backoff)."""


class ChannelLayerTransport:
    """Wakes through a channel-layer group (the embedded mode's in-memory layer; any layer in
    tests). One channel for the hub, kept across restarts."""

    def __init__(self, layer: Any = None):
        self._layer = layer  # None: the project's default layer, looked up at run()
        self.channel_name: str | None = None

    async def run(self, joined: Joined, dispatch: Dispatch) -> None:
        layer = self._layer if self._layer is not None else get_channel_layer()
        channel = self.channel_name or await layer.new_channel(prefix=LISTENER_CHANNEL_PREFIX)
        self.channel_name = channel
        await layer.group_add(WAKE_GROUP, channel)
        try:
            joined()
            await self._serve(layer, channel, dispatch)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    layer.group_discard(WAKE_GROUP, channel), CLOSE_TIMEOUT_SECONDS
                )
            raise

    async def _serve(self, layer: Any, channel: str, dispatch: Dispatch) -> None:
        """Receive wakes until something fails; refresh the group membership meanwhile."""
        # The refresher only ever finishes by failing. receive() is never cancelled while
        # healthy: the in-memory layer drops a channel from its groups when its receive()
        # is cancelled.
        loop = asyncio.get_running_loop()
        refresher = loop.create_task(self._refresh(layer, channel), name="mesh-wake-hub-refresh")
        receive = None
        try:
            while True:
                receive = loop.create_task(layer.receive(channel), name="mesh-wake-hub-receive")
                done, _ = await asyncio.wait(
                    {receive, refresher}, return_when=asyncio.FIRST_COMPLETED
                )
                if receive in done:
                    dispatch(receive.result())
                if refresher in done:
                    refresher.result()  # raises what broke it
        finally:
            running = {task for task in (receive, refresher) if task and not task.done()}
            for task in running:
                task.cancel()
            if running:
                await asyncio.wait(running, timeout=CLOSE_TIMEOUT_SECONDS)
            for task in running:
                if task.done() and not task.cancelled():
                    task.exception()  # retrieved: it is the failure we are handling

    async def _refresh(self, layer: Any, channel: str) -> None:
        # channels_redis drops group members older than group_expiry: re-adding resets the
        # member's timestamp, so a long-running process never silently leaves the group.
        group_expiry = float(getattr(layer, "group_expiry", 86400) or 86400)
        interval = max(MIN_REFRESH_SECONDS, min(group_expiry / 4, MAX_REFRESH_SECONDS))
        while True:
            await asyncio.sleep(interval)
            await layer.group_add(WAKE_GROUP, channel)


class RedisPubSubTransport:
    """Wakes through Redis pub/sub (REDIS_URL set: several server processes).

    A channel-layer receive costs four Redis round trips per message, one message at a time:
    measured in the soak (2 processes, 50 answers/s on 2 cores), each listener fell minutes
    behind, and channels_redis dropped the wakes it held past its 60 s expiry. A pub/sub
    subscriber is pushed every message on one connection; a PUBLISH is one round trip.
    Delivery is at most once, as with the layer: a hub that was disconnected re-reads every
    waiter's row when it is back (WakeHub._joined), and waiters read at their deadline.
    """

    def __init__(self, url: str, channel: str) -> None:
        self.url = url
        self.channel = channel

    async def run(self, joined: Joined, dispatch: Dispatch) -> None:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(
            self.url,
            socket_connect_timeout=PUBSUB_CONNECT_TIMEOUT_SECONDS,
            health_check_interval=PUBSUB_HEALTH_CHECK_SECONDS,
            client_name=PUBSUB_CLIENT_NAME,
        )
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(self.channel)
            # Listening only once Redis confirmed the subscription.
            while True:
                message = await pubsub.get_message(timeout=PUBSUB_POLL_SECONDS)
                if message is not None and message["type"] == "subscribe":
                    break
            joined()
            while True:
                # get_message() pings an idle connection every health_check_interval, so a
                # Redis that went away is noticed even when nothing is published.
                message = await pubsub.get_message(timeout=PUBSUB_POLL_SECONDS)
                if message is None or message["type"] != "message":
                    continue
                try:
                    wake = json.loads(message["data"])
                except ValueError:
                    logger.warning("Ignored a malformed wake on %s", self.channel)
                    continue
                if isinstance(wake, dict):
                    dispatch(wake)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pubsub.aclose(), CLOSE_TIMEOUT_SECONDS)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.aclose(), CLOSE_TIMEOUT_SECONDS)


def pubsub_channel() -> str:
    """The Redis pub/sub channel of this deployment's wakes (the layer's key prefix, so
    deployments sharing a Redis do not wake each other)."""
    config = settings.CHANNEL_LAYERS.get("default", {}).get("CONFIG", {})
    return f"{config.get('prefix', 'makima')}.{WAKE_GROUP}"


def default_transport() -> WakeTransport:
    if settings.REDIS_URL:
        return RedisPubSubTransport(settings.REDIS_URL, pubsub_channel())
    return ChannelLayerTransport()


_publisher_pool = None
_publisher_lock = threading.Lock()


def publish_wake(message: Wake) -> None:
    """Publish a wake to the other processes (sync: services call it after commit).

    Redis pub/sub when REDIS_URL is set, through one thread-safe connection pool per
    process; without Redis there is one process, whose waiters the caller wakes directly
    (wake_local), and the in-memory layer's group gets it from the caller's async side.
    Raises what Redis raised; the caller logs it.
    """
    global _publisher_pool
    if not settings.REDIS_URL:
        return
    import redis

    if _publisher_pool is None:
        with _publisher_lock:
            if _publisher_pool is None:
                _publisher_pool = redis.ConnectionPool.from_url(
                    settings.REDIS_URL,
                    socket_connect_timeout=PUBSUB_CONNECT_TIMEOUT_SECONDS,
                    socket_timeout=PUBLISH_TIMEOUT_SECONDS,
                )
    client = redis.Redis(connection_pool=_publisher_pool)
    client.publish(pubsub_channel(), json.dumps(message, separators=(",", ":")))
