"""Publishing events, after commit: the one way services reach waiters and feed sockets.

Two kinds of destination:
- Wakes: a message says "question X settled" and how, so blocked asks/polls in any process
  return at once. The publishing process wakes its own waiters directly
  (mesh.wakeups.hub.wake_local); other processes hear it through Redis pub/sub when
  REDIS_URL is set (mesh.wakeups.transports.publish_wake), the single embedded process also
  through the in-memory layer's WAKE_GROUP.
- Channel-layer groups (mesh.events.groups): the owner's live feed sockets, whose messages
  carry the frame to send, and a credential's sockets, closed when it ends.
A failed publish is logged and swallowed: the row is already committed, and waiters make a
final database check at their deadline, so a lost wake delays an answer but never loses it.
docs/architecture.md ("Events") explains the bounds below.
"""

import asyncio
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from makima_site.loops import PerLoop, server_loop
from mesh.wakeups.hub import wake_local
from mesh.wakeups.transports import WAKE_GROUP, Wake, publish_wake

logger = logging.getLogger(__name__)

OWNER_EVENT_MESSAGE_TYPE = "owner.event"
CREDENTIAL_REVOKED_MESSAGE_TYPE = "credential.revoked"


# At most this many publishes use the channel layer at once per event loop; the rest wait
# their turn. Requests no longer wait for their publishes, so a burst would otherwise open
# more Redis connections than the layer's pool allows (100 in redis-py 8: "Too many
# connections", and the owner event was lost; seen in the soak).
PUBLISH_CONCURRENCY = 32
# Past this many publishes waiting for a slot, owner events (not credential revocations)
# are dropped (and counted) rather than queued: a process whose loop cannot keep up must not
# grow without bound. A socket that missed an event catches up from the snapshot of its next
# connection; wakes never wait here (the local wake comes first, Redis pub/sub is published
# by the request thread).
MAX_PUBLISH_BACKLOG = 1000
# This process's publish counters (shown by /_ops/wakehub).
publish_stats = {"waiting": 0, "inFlight": 0, "sent": 0, "failed": 0, "dropped": 0}
_slots = PerLoop(lambda: asyncio.Semaphore(PUBLISH_CONCURRENCY))


async def publish(messages: list[tuple[str, dict[str, Any]]], wake: Wake | None) -> None:
    """Wake this process's waiters, then send `messages` to their groups (bounded)."""
    if wake is not None:
        wake_local(wake["question_id"], wake["outcome"])
        if not settings.REDIS_URL:
            # One process: its hub also listens on the in-memory layer's wake group.
            messages = [(WAKE_GROUP, dict(wake)), *messages]
    if not messages:
        return
    if publish_stats["waiting"] >= MAX_PUBLISH_BACKLOG:
        # Only feed events are optional; a revoked credential's close always goes out.
        kept = [(g, m) for g, m in messages if m.get("type") != OWNER_EVENT_MESSAGE_TYPE]
        before = publish_stats["dropped"]
        publish_stats["dropped"] += len(messages) - len(kept)
        if publish_stats["dropped"] != before and (
            before == 0 or before // 100 != publish_stats["dropped"] // 100
        ):
            logger.warning(
                "Publishing is %d messages behind; %d owner events dropped so far",
                publish_stats["waiting"],
                publish_stats["dropped"],
            )
        messages = kept
        if not messages:
            return
    layer = get_channel_layer()
    slots = _slots.get()
    publish_stats["waiting"] += 1
    try:
        await slots.acquire()
    finally:
        publish_stats["waiting"] -= 1
    publish_stats["inFlight"] += 1
    try:
        results = await asyncio.gather(
            *(layer.group_send(group, message) for group, message in messages),
            return_exceptions=True,
        )
    finally:
        publish_stats["inFlight"] -= 1
        slots.release()
    for (_, message), result in zip(messages, results, strict=True):
        if isinstance(result, BaseException):
            publish_stats["failed"] += 1
            logger.error(
                "Could not publish %s to the channel layer",
                message.get("type"),
                exc_info=result,
            )
        else:
            publish_stats["sent"] += 1


def send(messages: list[tuple[str, dict[str, Any]]], wake: Wake | None = None) -> None:
    """Publish after commit; a failure is logged, never raised (see the module doc).

    A wake goes first to the other processes (Redis pub/sub, transports.publish_wake),
    then to this process's own waiters and, with the messages, to their channel-layer
    groups, on the server's event loop. In a server the request's thread does not wait for
    that (it still holds its database connection, and a busy loop must not hold the pool);
    elsewhere it runs to the end here.
    """
    if wake is not None and settings.REDIS_URL:
        try:
            publish_wake(wake)
        except Exception:
            logger.exception("Could not publish a wake to Redis")
    loop = server_loop()
    try:
        if loop is not None:
            asyncio.run_coroutine_threadsafe(publish(messages, wake), loop)
        else:
            async_to_sync(publish)(messages, wake)
    except Exception:
        logger.exception("Could not publish %s", [message.get("type") for _, message in messages])
