"""Client disconnects: 1,000 asks whose clients drop mid-wait."""

import asyncio
import contextlib
import json
import time

import pytest

from tests.faults.conftest import seed, wait_for

pytestmark = pytest.mark.faults

ASKS = 1000
WAKE_CHANNEL = "makima-faults.mesh.wakeups"  # the wake hubs' pub/sub channel (its prefix)


def wake_subscribers(redis) -> int:
    return int(redis.cli("PUBSUB", "NUMSUB", WAKE_CHANNEL).splitlines()[-1])


async def _open_ask(port: int, key: str, index: int):
    """A raw HTTP/1.1 ask whose client will simply close its socket, mid-wait."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = json.dumps({"question": f"Dropped {index}", "phaseguard": True}).encode()
    writer.write(
        b"POST /api/v1/mesh/supervisor/questions HTTP/1.1\r\n"
        b"Host: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"X-Makima-Tool-Key: {key}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    return reader, writer


def test_asks_dropped_mid_wait_leave_no_futures_members_keys_or_connections(daphne, pg, redis):
    """1,000 blocked asks whose clients hang up: afterwards the process holds no wake
    futures, the wake channel still has exactly one subscriber (the hub), Redis holds the same
    keys as before, and no database connection is checked out or busy; the questions stay
    pending (a client that hangs up can re-poll)."""
    world = seed(pg, tasks=20)
    server = daphne("a", MESH_BLOCK_WAIT_SECONDS=120, DB_POOL_MAX_SIZE=4)
    # Warm up: one (non-blocking) ask starts the hub and the pools.
    warm = daphne_ask_once(server, world["keys"][0])
    assert warm == 200
    wait_for(lambda: (server.ops()["hub"] or {}).get("listening"), 10, "the hub to listen")
    keys_before = redis.layer_keys()
    assert wake_subscribers(redis) == 1

    async def drop_them_all() -> dict[str, float]:
        started = time.monotonic()
        sockets = []
        for index in range(ASKS):
            sockets.append(await _open_ask(server.port, world["keys"][index % 20], index))
        # Mid-wait: every ask has its row and its future (a future alone may still be
        # before its row; that ask would just never be recorded).
        deadline = time.monotonic() + 60
        while (await asyncio.to_thread(pending_count, pg)) < ASKS + 1 or (
            await asyncio.to_thread(server.ops)
        )["hub"]["futures"] < ASKS:
            assert time.monotonic() < deadline, server.ops()
            await asyncio.sleep(0.2)
        waiting_at = time.monotonic()
        peak = await asyncio.to_thread(server.ops)
        for _, writer in sockets:
            writer.close()
        for _, writer in sockets:
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        closed_at = time.monotonic()
        deadline = time.monotonic() + 15
        while (await asyncio.to_thread(server.ops))["hub"]["futures"] != 0:
            assert time.monotonic() < deadline, server.ops()
            await asyncio.sleep(0.05)
        return {
            "all_waiting_after_s": waiting_at - started,
            "released_after_close_s": time.monotonic() - closed_at,
            "peak_futures": peak["hub"]["futures"],
        }

    figures = asyncio.run(drop_them_all())
    ops = server.ops()
    assert ops["hub"] == {**ops["hub"], "futures": 0, "questions": 0, "listening": True}
    # The pool: nothing checked out, nobody waiting, never above its bound.
    assert ops["pool"]["inUse"] == 0 and ops["pool"]["waiting"] == 0, ops
    backends = pg.backends()
    assert len(backends) <= 4, backends
    assert all(state == "idle" for state, _ in backends), backends
    # Redis: the wake channel still has only the hub; no channel or group key was left.
    assert wake_subscribers(redis) == 1
    wait_for(lambda: redis.layer_keys() == keys_before, 5, f"{redis.layer_keys() ^ keys_before}")
    # The questions themselves are kept, pending, for a re-poll.
    assert pending_count(pg) == ASKS + 1  # and the warm-up's
    figures.update(pg_backends=len(backends), redis_keys=len(keys_before))
    print("client disconnect figures:", {k: round(v, 3) for k, v in figures.items()})


def pending_count(pg) -> int:
    return int(pg.psql("SELECT count(*) FROM mesh_question WHERE status = 'pending'"))


def daphne_ask_once(server, key: str) -> int:
    import httpx

    reply = httpx.post(
        f"{server.url}/api/v1/mesh/supervisor/questions",
        json={"question": "Warm-up", "nonBlocking": True},
        headers={"X-Makima-Tool-Key": key},
        timeout=10,
    )
    return reply.status_code
