"""The per-process wake hub: blocked asks and polls wait here, without a thread or a poll loop.

One hub per event loop (so one per daphne process). It keeps a dict of question id → the
asyncio futures of the requests waiting on it, and ONE long-lived listener task fed by a
transport (mesh.wakeups.transports): Redis pub/sub shared by every process when REDIS_URL is
set, the in-memory channel layer in the one embedded process. Services publish after commit
(mesh.events.publisher); the publishing process also wakes its own waiters directly
(`wake_local`), with no round trip through a transport. docs/architecture.md ("The wake")
has the why (one listener, not a channel per waiter; pub/sub between processes) and the
figures.

A wake carries the settled outcome ({"status", "response", ...}), published after the commit
that stored it, so a woken waiter returns at once without reading the row again; a wake
without one (e.g. after the listener rejoined) makes it read the row. Waiters read the row
once more at their deadline, so a lost wake (Redis down) delays an answer but never loses it.
"""

import asyncio
import contextlib
import logging
from typing import Any

from makima_site.loops import PerLoop
from mesh.wakeups.transports import (
    WAKE_MESSAGE_TYPE,
    ChannelLayerTransport,
    WakeTransport,
    default_transport,
)

logger = logging.getLogger(__name__)

# Restart backoff of a failed listener (e.g. Redis went away): bounded exponential.
BACKOFF_INITIAL_SECONDS = 0.1
BACKOFF_MAX_SECONDS = 5.0
# How long a new waiter waits for the listener to join the group before it reads the row
# anyway (the read at the deadline then covers a wake missed meanwhile).
READY_TIMEOUT_SECONDS = 2.0
# Stopping the listener never waits longer than this (a hung Redis must not hang a shutdown
# or a test teardown).
CLOSE_TIMEOUT_SECONDS = 2.0


class WakeHub:
    """Futures of local waiters by question id, resolved by one listener (see the module)."""

    def __init__(self, channel_layer: Any = None, *, transport: WakeTransport | None = None):
        # Default: Redis pub/sub when REDIS_URL is set, else the (in-memory) channel layer;
        # a channel layer given here is used as the transport.
        if transport is None:
            transport = (
                ChannelLayerTransport(channel_layer)
                if channel_layer is not None
                else default_transport()
            )
        self._transport = transport
        self._waiters: dict[str, set[asyncio.Future[dict[str, Any] | None]]] = {}
        self._listener: asyncio.Task[None] | None = None
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
    def waiting_question_ids(self) -> list[str]:
        """The ids of the questions someone waits on here, oldest registration first."""
        return list(self._waiters)

    @property
    def closed(self) -> bool:
        return self._closed

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
    def register(self, question_id: Any) -> "asyncio.Future[dict[str, Any] | None]":
        """A future resolved when the question settles. Always pair with unregister()."""
        if self._closed:
            raise RuntimeError("This wake hub is closed.")
        self.ensure_listener()
        future = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(str(question_id), set()).add(future)
        return future

    def unregister(self, question_id: Any, future: "asyncio.Future[dict[str, Any] | None]") -> None:
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

    def stop_listener(self) -> "asyncio.Task[None] | None":
        """Cancel the running listener and return its task (tests of the restart path)."""
        listener = self._listener
        if listener is not None:
            listener.cancel()
        return listener

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


_hubs: PerLoop[WakeHub] = PerLoop(WakeHub, replace_if=lambda hub: hub.closed)


def get_hub() -> WakeHub:
    """The hub of the running event loop (one per process under daphne)."""
    return _hubs.get()


def existing_hub() -> WakeHub | None:
    """The running loop's hub if one is open, without making one (the ops endpoint)."""
    return _hubs.peek()


def wake_local(question_id: Any, outcome: dict[str, Any] | None) -> int:
    """Wake this event loop's waiters for a question, if the loop has a hub (no layer hop)."""
    hub = _hubs.peek()
    return 0 if hub is None else hub.wake(question_id, outcome)


async def close_hub() -> None:
    """Close the running loop's hub, if any (test teardown)."""
    hub = _hubs.pop()
    if hub is not None:
        await hub.close()
