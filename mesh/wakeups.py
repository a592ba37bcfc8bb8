"""The per-process wake hub: blocked asks and polls wait here, without a thread or a poll loop.

One hub per event loop (so one per daphne process). It keeps a dict of question id → the
asyncio futures of the requests waiting on it, and ONE long-lived listener task fed by a
transport: with REDIS_URL set, a Redis pub/sub subscription that every process's hub shares
(RedisPubSubTransport), so an answer posted to any process wakes a waiter in any other;
without it (one embedded process), a channel in events.WAKE_GROUP on the in-memory layer
(ChannelLayerTransport). Services publish after commit (mesh/events.py); the publishing
process also wakes its own waiters directly (`wake_local`), before any transport.

Why one listener and not a channel per waiter: a per-waiter channel on channels_redis means a
receive() per waiter and a group per question; measured at 1,000–3,000 waiters it exhausts
Redis connections, and an abandoned channel leaks (DESIGN.md §3). Why pub/sub and not the
channel layer between processes: see RedisPubSubTransport.

A wake carries the settled outcome ({"status", "response"}), published after the commit
that stored it, so a woken waiter returns at once without reading the row again; a wake
without one (e.g. after the listener rejoined) makes it read the row. Waiters read the row
once more at their deadline, so a lost wake (Redis down) delays an answer but never loses it.
"""

import asyncio
import contextlib
import json
import logging
import threading
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

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
# Restart backoff of a failed listener (e.g. Redis went away): bounded exponential.
BACKOFF_INITIAL_SECONDS = 0.1
BACKOFF_MAX_SECONDS = 5.0
# How long a new waiter waits for the listener to join the group before it reads the row
# anyway (the read at the deadline then covers a wake missed meanwhile).
READY_TIMEOUT_SECONDS = 2.0
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
# Leaving the group and stopping the listener never wait longer than this (a hung Redis
# must not hang a shutdown or a test teardown).
CLOSE_TIMEOUT_SECONDS = 2.0


class Settled(Protocol):
    settled: bool


SnapshotT = TypeVar("SnapshotT", bound=Settled)


class WakeHub:
    """Futures of local waiters by question id, resolved by one listener (see the module)."""

    def __init__(self, channel_layer=None, *, transport: "WakeTransport | None" = None):
        # Default: Redis pub/sub when REDIS_URL is set, else the (in-memory) channel layer;
        # a channel layer given here is used as the transport.
        if transport is None:
            transport = (
                ChannelLayerTransport(channel_layer)
                if channel_layer is not None
                else default_transport()
            )
        self._transport = transport
        self._waiters: dict[str, set[asyncio.Future]] = {}
        self._listener: asyncio.Task | None = None
        self._ready = asyncio.Event()
        self._closed = False
        self._backoff = BACKOFF_INITIAL_SECONDS
        self.wakes_received = 0
        self.listener_starts = 0

    # --- counters for tests and the benchmark ---------------------------------------------
    @property
    def future_count(self) -> int:
        """How many futures are registered (one per waiting request)."""
        return sum(len(futures) for futures in self._waiters.values())

    @property
    def question_count(self) -> int:
        return len(self._waiters)

    @property
    def channel_name(self) -> str | None:
        """The channel-layer transport's channel (None for Redis pub/sub)."""
        return getattr(self._transport, "channel_name", None)

    @property
    def listener_alive(self) -> bool:
        return self._listener is not None and not self._listener.done()

    @property
    def listening(self) -> bool:
        """The listener is in the wake group right now."""
        return self.listener_alive and self._ready.is_set()

    # --- waiters --------------------------------------------------------------------------
    def register(self, question_id: Any) -> asyncio.Future:
        """A future resolved when the question settles. Always pair with unregister()."""
        if self._closed:
            raise RuntimeError("This wake hub is closed.")
        self.ensure_listener()
        future = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(str(question_id), set()).add(future)
        return future

    def unregister(self, question_id: Any, future: asyncio.Future) -> None:
        key = str(question_id)
        futures = self._waiters.get(key)
        if futures is not None:
            futures.discard(future)
            if not futures:
                del self._waiters[key]
        if not future.done():
            future.cancel()

    async def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> bool:
        """Wait (bounded) until the listener is in the group; True when it is."""
        if self._ready.is_set():
            return True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._ready.wait()
        return self._ready.is_set()

    def wake(self, question_id: Any, outcome: dict[str, Any] | None = None) -> int:
        """Resolve the local futures of one question with its outcome (None: "read the row");
        returns how many were woken."""
        woken = 0
        for future in self._waiters.get(str(question_id), ()):
            if not future.done():
                future.set_result(outcome)
                woken += 1
        return woken

    def wake_all(self) -> None:
        """Make every local waiter re-read its row (wakes may have been missed)."""
        for question_id in list(self._waiters):
            self.wake(question_id)

    # --- the listener ---------------------------------------------------------------------
    def ensure_listener(self) -> None:
        """Start the listener if it is not running (first use, or it died)."""
        if self._closed or self.listener_alive:
            return
        self._listener = asyncio.get_running_loop().create_task(
            self._listen(), name="mesh-wake-hub-listener"
        )

    def _joined(self) -> None:
        """The transport listens: waiters may rely on wakes from now on."""
        self._backoff = BACKOFF_INITIAL_SECONDS
        self.listener_starts += 1
        self._ready.set()
        if self.listener_starts > 1:
            # Wakes published while we were not listening are lost: everyone re-reads.
            self.wake_all()

    async def _listen(self) -> None:
        self._backoff = BACKOFF_INITIAL_SECONDS
        while True:
            try:
                await self._transport.run(self._joined, self._dispatch)
                raise RuntimeError("the wake transport stopped listening")
            except asyncio.CancelledError:
                self._ready.clear()
                raise
            except Exception:
                self._ready.clear()
                backoff = self._backoff
                logger.warning(
                    "Wake hub listener failed; restarting in %.1fs", backoff, exc_info=True
                )
                await asyncio.sleep(backoff)
                self._backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)

    def _dispatch(self, message: dict[str, Any]) -> None:
        if message.get("type") != WAKE_MESSAGE_TYPE:
            return
        self.wakes_received += 1
        outcome = message.get("outcome")
        self.wake(message.get("question_id"), outcome if isinstance(outcome, dict) else None)

    async def close(self) -> None:
        """Stop the listener, leave the group and cancel every waiter (tests, shutdown)."""
        self._closed = True
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.wait({self._listener}, timeout=CLOSE_TIMEOUT_SECONDS)
        for futures in self._waiters.values():
            for future in futures:
                future.cancel()
        self._waiters.clear()


# --- transports: how wakes travel between processes -----------------------------------------
class WakeTransport(Protocol):
    async def run(
        self, joined: Callable[[], None], dispatch: Callable[[dict[str, Any]], None]
    ) -> None:
        """Listen for wakes: call joined() once listening, dispatch(message) per wake; raise
        when broken (the hub restarts it with backoff)."""


class ChannelLayerTransport:
    """Wakes through a channel-layer group (the embedded mode's in-memory layer; any layer in
    tests). One channel for the hub, kept across restarts."""

    def __init__(self, layer=None):
        self._layer = layer  # None: the project's default layer, looked up at run()
        self.channel_name: str | None = None

    async def run(self, joined, dispatch) -> None:
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

    async def _serve(self, layer, channel: str, dispatch) -> None:
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

    async def _refresh(self, layer, channel: str) -> None:
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

    def __init__(self, url: str, channel: str):
        self.url = url
        self.channel = channel

    async def run(self, joined, dispatch) -> None:
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


def publish_wake(message: dict[str, Any]) -> None:
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


async def wait_until_settled(
    question_id: Any,
    *,
    timeout: float | Callable[[SnapshotT], float],
    read: Callable[[], Awaitable[SnapshotT]],
    first_read: Callable[[], Awaitable[SnapshotT]] | None = None,
    from_wake: Callable[[dict[str, Any]], SnapshotT | None] | None = None,
    hub: WakeHub | None = None,
) -> SnapshotT:
    """Wait up to `timeout` seconds for a question to settle; return the row's last snapshot.

    Register FIRST, then read the row (so a settlement between the read and the await is
    not missed), then await the wake. A wake makes us read again; at the deadline we read a
    final time. The registration is removed in `finally`, also when the caller is cancelled.
    `first_read` replaces the first read (e.g. one that authenticates, or that creates the
    row); `timeout` may be a function of that first snapshot. `from_wake` turns a wake's
    outcome into a snapshot: a settled one is returned without reading the row.
    """
    hub = hub or get_hub()
    loop = asyncio.get_running_loop()
    deadline: float | None = None
    reader = first_read or read
    while True:
        future = hub.register(question_id)
        try:
            await hub.wait_ready()
            snapshot = await reader()
            reader = read
            if deadline is None:
                deadline = loop.time() + (timeout(snapshot) if callable(timeout) else timeout)
            if snapshot.settled or loop.time() >= deadline:
                return snapshot
            try:
                async with asyncio.timeout_at(deadline):
                    outcome = await future
            except TimeoutError:
                return await read()
            if outcome is not None and from_wake is not None:
                woken = from_wake(outcome)
                if woken is not None and woken.settled:
                    return woken
        finally:
            hub.unregister(question_id, future)


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, WakeHub]" = weakref.WeakKeyDictionary()


def get_hub() -> WakeHub:
    """The hub of the running event loop (one per process under daphne)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None or hub._closed:
        hub = _hubs[loop] = WakeHub()
    return hub


def wake_local(question_id: Any, outcome: dict[str, Any] | None) -> int:
    """Wake this event loop's waiters for a question, if the loop has a hub (no layer hop)."""
    hub = _hubs.get(asyncio.get_running_loop())
    if hub is None or hub._closed:
        return 0
    return hub.wake(question_id, outcome)


async def close_hub() -> None:
    """Close the running loop's hub, if any (test teardown)."""
    hub = _hubs.pop(asyncio.get_running_loop(), None)
    if hub is not None:
        await hub.close()
