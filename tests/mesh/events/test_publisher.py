"""mesh.events.publisher: how the services' publishes reach the channel layer."""

import asyncio

from asgiref.sync import sync_to_async

from makima_site.loops import bind_server_loop
from mesh.events import publisher
from mesh.events.groups import owner_group, token_group


class CountingLayer:
    """A channel layer whose group_send takes a while and records how many run at once."""

    def __init__(self):
        self.running = 0
        self.most = 0
        self.sent = []

    async def group_send(self, group, message):
        self.running += 1
        self.most = max(self.most, self.running)
        await asyncio.sleep(0.005)
        self.sent.append((group, message))
        self.running -= 1


async def test_a_burst_of_publishes_is_bounded_and_nothing_is_dropped(monkeypatch):
    """Requests do not wait for their publishes; a burst must queue, not open more Redis
    connections than the layer's pool has (which failed with "Too many connections")."""
    layer = CountingLayer()
    monkeypatch.setattr(publisher, "get_channel_layer", lambda: layer)
    burst = publisher.PUBLISH_CONCURRENCY * 3
    await asyncio.gather(
        *(
            publisher.publish([(owner_group(1), {"type": "owner.event", "n": n})], None)
            for n in range(burst)
        )
    )
    assert len(layer.sent) == burst
    assert layer.most == publisher.PUBLISH_CONCURRENCY


async def test_publish_from_a_request_thread_does_not_wait_for_the_layer(monkeypatch):
    """In a server the request's thread hands the publish to the loop and goes on (it holds
    its database connection until it returns)."""
    release = asyncio.Event()
    sent = []

    class SlowLayer:
        async def group_send(self, group, message):
            await release.wait()
            sent.append(message)

    monkeypatch.setattr(publisher, "get_channel_layer", lambda: SlowLayer())
    message = {"type": "owner.event"}

    async def request(scope, receive, send):
        await sync_to_async(publisher.send, thread_sensitive=False)([("g", message)])

    await asyncio.wait_for(bind_server_loop(request)({}, None, None), 1)
    assert sent == []
    release.set()
    for _ in range(100):
        if sent:
            break
        await asyncio.sleep(0.01)
    assert sent == [message]


async def test_past_the_backlog_owner_events_are_dropped_and_counted(monkeypatch):
    """A loop that cannot keep up sheds owner events instead of growing without bound."""
    layer = CountingLayer()
    monkeypatch.setattr(publisher, "get_channel_layer", lambda: layer)
    monkeypatch.setattr(publisher, "MAX_PUBLISH_BACKLOG", 5)
    monkeypatch.setattr(publisher, "publish_stats", dict.fromkeys(publisher.publish_stats, 0))
    burst = publisher.PUBLISH_CONCURRENCY + 20
    await asyncio.gather(
        *(
            publisher.publish([(owner_group(1), {"type": "owner.event", "n": n})], None)
            for n in range(burst)
        )
    )
    stats = publisher.publish_stats
    assert stats["dropped"] == burst - publisher.PUBLISH_CONCURRENCY - 5
    assert stats["sent"] == len(layer.sent) == publisher.PUBLISH_CONCURRENCY + 5
    assert stats["waiting"] == stats["inFlight"] == 0


async def test_a_revocation_is_never_dropped_even_past_the_backlog(monkeypatch):
    layer = CountingLayer()
    monkeypatch.setattr(publisher, "get_channel_layer", lambda: layer)
    monkeypatch.setattr(publisher, "MAX_PUBLISH_BACKLOG", 0)
    monkeypatch.setattr(publisher, "publish_stats", dict.fromkeys(publisher.publish_stats, 0))
    revoked = {"type": publisher.CREDENTIAL_REVOKED_MESSAGE_TYPE}
    await publisher.publish(
        [(owner_group(1), {"type": "owner.event"}), (token_group(7), revoked)],
        None,
    )
    assert layer.sent == [(token_group(7), revoked)]
    assert publisher.publish_stats["dropped"] == 1
