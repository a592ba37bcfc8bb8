"""mesh.wakeups: the per-process wake hub, its transports and wait_until_settled."""

import asyncio
from dataclasses import dataclass

import pytest
from channels.layers import InMemoryChannelLayer

from mesh.wakeups import hub as wake_hub
from mesh.wakeups import transports
from mesh.wakeups.hub import WakeHub, close_hub, get_hub, wake_local
from mesh.wakeups.transports import WAKE_GROUP, WAKE_MESSAGE_TYPE
from mesh.wakeups.wait import wait_until_settled
from tests.mesh.conftest import until


@dataclass
class Snapshot:
    settled: bool
    reads: int = 0


def wake_message(question_id) -> dict:
    return {"type": WAKE_MESSAGE_TYPE, "question_id": str(question_id)}


@pytest.fixture
async def layer():
    return InMemoryChannelLayer()


@pytest.fixture
async def own_hub(layer):
    hub = WakeHub(layer)
    yield hub
    await hub.close()


async def test_listener_starts_lazily_and_joins_the_wake_group(own_hub, layer):
    """No listener until the first waiter; then exactly one, in WAKE_GROUP."""
    assert not own_hub.listener_alive
    future = own_hub.register("q1")
    assert await own_hub.wait_ready()
    assert own_hub.listener_alive
    assert own_hub.listening
    assert own_hub.channel_name in layer.groups[WAKE_GROUP]
    own_hub.unregister("q1", future)


async def test_a_wake_resolves_every_future_of_that_question_only(own_hub, layer):
    """A settled message wakes the question's waiters and nobody else."""
    first, second = own_hub.register("q1"), own_hub.register("q1")
    other = own_hub.register("q2")
    await own_hub.wait_ready()
    await layer.group_send(WAKE_GROUP, wake_message("q1"))
    await asyncio.wait_for(asyncio.gather(first, second), 1)
    assert not other.done()
    assert own_hub.wakes_received == 1
    for question_id, future in (("q1", first), ("q1", second), ("q2", other)):
        own_hub.unregister(question_id, future)
    assert own_hub.future_count == 0
    assert own_hub.question_count == 0


async def test_other_message_types_are_ignored(own_hub, layer):
    """Only question.settled wakes anybody."""
    future = own_hub.register("q1")
    await own_hub.wait_ready()
    await layer.group_send(WAKE_GROUP, {"type": "owner.event", "question_id": "q1"})
    await asyncio.sleep(0.02)
    assert not future.done()
    own_hub.unregister("q1", future)


async def test_one_listener_however_many_waiters(own_hub):
    """A thousand waiters share one listener task."""
    futures = [own_hub.register(f"q{n}") for n in range(1000)]
    await own_hub.wait_ready()
    assert own_hub.future_count == 1000
    assert own_hub.listener_starts == 1
    names = [task.get_name() for task in asyncio.all_tasks()]
    assert names.count("mesh-wake-hub-listener") == 1
    for n, future in enumerate(futures):
        own_hub.unregister(f"q{n}", future)
    assert own_hub.future_count == 0


async def test_wait_returns_at_once_when_already_settled(own_hub):
    """Register, then read: an already settled row returns without waiting."""
    reads = []

    async def read():
        reads.append(own_hub.future_count)  # registered before the read
        return Snapshot(settled=True)

    result = await wait_until_settled("q1", timeout=10, read=read, hub=own_hub)
    assert result.settled
    assert reads == [1]
    assert own_hub.future_count == 0


async def test_wait_reads_again_after_a_wake(own_hub, layer):
    """A wake makes the waiter read the row again and return what it says."""
    state = {"settled": False}

    async def read():
        return Snapshot(settled=state["settled"])

    waiting = asyncio.ensure_future(wait_until_settled("q1", timeout=10, read=read, hub=own_hub))
    await until(lambda: own_hub.future_count == 1)
    state["settled"] = True
    await layer.group_send(WAKE_GROUP, wake_message("q1"))
    assert (await asyncio.wait_for(waiting, 1)).settled
    assert own_hub.future_count == 0


async def test_a_spurious_wake_keeps_waiting(own_hub, layer):
    """A wake while the row is still pending: read, register again, keep waiting."""
    reads = []

    async def read():
        reads.append(1)
        return Snapshot(settled=False)

    waiting = asyncio.ensure_future(wait_until_settled("q1", timeout=0.3, read=read, hub=own_hub))
    await until(lambda: own_hub.future_count == 1)
    await layer.group_send(WAKE_GROUP, wake_message("q1"))
    await until(lambda: len(reads) == 2)
    assert not waiting.done()
    assert not (await asyncio.wait_for(waiting, 2)).settled
    assert len(reads) == 3  # first read, after the wake, at the deadline


async def test_a_lost_wake_is_caught_by_the_read_at_the_deadline(own_hub):
    """No wake ever arrives, but the row settled: the final read returns it."""
    state = {"settled": False}

    async def read():
        return Snapshot(settled=state["settled"])

    waiting = asyncio.ensure_future(wait_until_settled("q1", timeout=0.2, read=read, hub=own_hub))
    await until(lambda: own_hub.future_count == 1)
    state["settled"] = True  # settled, but its wake was lost
    assert (await asyncio.wait_for(waiting, 2)).settled


async def test_cancelling_a_waiter_unregisters_it(own_hub):
    """A cancelled wait (client hung up) leaves no future behind."""

    async def read():
        return Snapshot(settled=False)

    waiting = asyncio.ensure_future(wait_until_settled("q1", timeout=30, read=read, hub=own_hub))
    await until(lambda: own_hub.future_count == 1)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert own_hub.future_count == 0
    assert own_hub.question_count == 0


async def test_a_failing_read_unregisters(own_hub):
    """An error in the read (e.g. 401) propagates and leaves no future behind."""

    async def read():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await wait_until_settled("q1", timeout=30, read=read, hub=own_hub)
    assert own_hub.future_count == 0


class FlakyLayer(InMemoryChannelLayer):
    """Its first receive() fails, as when Redis drops the connection."""

    def __init__(self):
        super().__init__()
        self.failures = 1

    async def receive(self, channel):
        if self.failures:
            self.failures -= 1
            await asyncio.sleep(0.01)
            raise ConnectionError("connection lost")
        return await super().receive(channel)


async def test_listener_restarts_after_failing_and_rechecks_waiters(monkeypatch):
    """A dead listener restarts (bounded backoff), rejoins, and wakes waiters to re-read."""
    monkeypatch.setattr(wake_hub, "BACKOFF_INITIAL_SECONDS", 0.01)
    layer = FlakyLayer()
    hub = WakeHub(layer)
    try:
        future = hub.register("q1")
        await until(lambda: hub.listener_starts == 2 and hub.listening)
        assert future.done()  # woken to re-read: a wake may have been lost meanwhile
        hub.unregister("q1", future)
        again = hub.register("q1")
        await layer.group_send(WAKE_GROUP, wake_message("q1"))
        await asyncio.wait_for(again, 1)
        hub.unregister("q1", again)
    finally:
        await hub.close()


async def test_register_restarts_a_listener_that_died(own_hub):
    """ensure_listener: a listener task that ended is replaced on the next register()."""
    future = own_hub.register("q1")
    await own_hub.wait_ready()
    listener = own_hub.stop_listener()
    with pytest.raises(asyncio.CancelledError):
        await listener
    assert not own_hub.listener_alive
    second = own_hub.register("q2")
    assert own_hub.listener_alive
    assert await own_hub.wait_ready()
    own_hub.unregister("q1", future)
    own_hub.unregister("q2", second)


async def test_group_membership_is_refreshed_before_group_expiry(monkeypatch):
    """The listener re-adds itself to the group well inside group_expiry, so a long-running
    process is never dropped from it (channels_redis expires members by join time)."""
    monkeypatch.setattr(transports, "MIN_REFRESH_SECONDS", 0.01)
    layer = InMemoryChannelLayer(group_expiry=0.04)
    hub = WakeHub(layer)
    try:
        future = hub.register("q1")
        await hub.wait_ready()
        joined = layer.groups[WAKE_GROUP][hub.channel_name]
        await asyncio.sleep(0.1)
        assert layer.groups[WAKE_GROUP][hub.channel_name] > joined + 0.05
        hub.unregister("q1", future)
    finally:
        await hub.close()


async def test_close_leaves_the_group_and_cancels_waiters(layer):
    """Closing a hub removes its channel from the group and cancels its futures."""
    hub = WakeHub(layer)
    future = hub.register("q1")
    await hub.wait_ready()
    channel = hub.channel_name
    await hub.close()
    assert future.cancelled()
    assert channel not in layer.groups.get(WAKE_GROUP, {})
    assert not hub.listener_alive


async def test_get_hub_is_one_per_event_loop():
    """get_hub() returns the same hub within a loop (one per daphne process)."""
    try:
        assert get_hub() is get_hub()
    finally:
        await close_hub()


def test_redis_reads_outlast_the_blocking_receive(settings):
    """channels_redis blocks 5 s per receive; the socket read timeout must be longer, or the
    idle listener dies every few seconds ("Timeout reading from ...")."""
    if not settings.REDIS_URL:
        pytest.skip("needs Redis: set REDIS_URL (the PostgreSQL+Redis CI pass)")
    from channels_redis.core import RedisChannelLayer

    config = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    host = config["hosts"][0]
    assert isinstance(host, dict)
    assert host["socket_timeout"] > RedisChannelLayer.brpop_timeout


async def test_a_restarted_listener_keeps_its_channel(monkeypatch):
    """After a failure the listener rejoins with the same channel (queued wakes survive)."""
    monkeypatch.setattr(wake_hub, "BACKOFF_INITIAL_SECONDS", 0.01)
    layer = FlakyLayer()
    hub = WakeHub(layer)
    try:
        future = hub.register("q1")
        await hub.wait_ready()
        first_channel = hub.channel_name
        await until(lambda: hub.listener_starts == 2 and hub.listening)
        assert hub.channel_name == first_channel
        hub.unregister("q1", future)
    finally:
        await hub.close()


async def test_a_wake_with_an_outcome_settles_the_waiter_without_a_read(own_hub, layer):
    """from_wake turns the wake's outcome into the snapshot; the row is read only once."""
    reads = []

    async def read():
        reads.append(1)
        return Snapshot(settled=False, reads=len(reads))

    waiter = asyncio.ensure_future(
        wait_until_settled(
            "q1",
            timeout=5,
            read=read,
            from_wake=lambda outcome: Snapshot(settled=outcome["status"] == "answered"),
            hub=own_hub,
        )
    )
    await until(lambda: reads)
    await layer.group_send(
        WAKE_GROUP,
        {**wake_message("q1"), "outcome": {"status": "answered", "response": "yes"}},
    )
    result = await asyncio.wait_for(waiter, 1)
    assert result.settled
    assert reads == [1]


async def test_a_wake_without_an_outcome_makes_the_waiter_read_the_row(own_hub, layer):
    reads = []

    async def read():
        reads.append(1)
        return Snapshot(settled=len(reads) > 1, reads=len(reads))

    waiter = asyncio.ensure_future(
        wait_until_settled("q1", timeout=5, read=read, from_wake=lambda outcome: None, hub=own_hub)
    )
    await until(lambda: reads)
    await layer.group_send(WAKE_GROUP, wake_message("q1"))
    result = await asyncio.wait_for(waiter, 1)
    assert result.settled and result.reads == 2


async def test_wake_local_wakes_the_running_loops_hub_only():
    hub = get_hub()
    try:
        future = hub.register("q1")
        assert wake_local("q2", None) == 0
        assert wake_local("q1", {"status": "answered", "response": "r"}) == 1
        assert await asyncio.wait_for(future, 1) == {"status": "answered", "response": "r"}
        hub.unregister("q1", future)
    finally:
        await close_hub()
    assert wake_local("q1", None) == 0
