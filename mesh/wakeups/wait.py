"""Waiting for a question to settle: register, read, await the wake, read at the deadline."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from makima_site.observability.metrics import WAITERS
from mesh.wakeups.hub import WakeHub, get_hub


class Settled(Protocol):
    @property
    def settled(self) -> bool: ...


SnapshotT = TypeVar("SnapshotT", bound=Settled)


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
    WAITERS.inc()  # makima_waiters: this wait, until it returns or is cancelled
    try:
        return await _wait(question_id, hub, timeout, read, first_read, from_wake)
    finally:
        WAITERS.dec()


async def _wait(
    question_id: Any,
    hub: WakeHub,
    timeout: float | Callable[[SnapshotT], float],
    read: Callable[[], Awaitable[SnapshotT]],
    first_read: Callable[[], Awaitable[SnapshotT]] | None,
    from_wake: Callable[[dict[str, Any]], SnapshotT | None] | None,
) -> SnapshotT:
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
