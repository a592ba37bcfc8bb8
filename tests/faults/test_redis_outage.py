"""Redis stops while 100 asks are blocked on a two-process deployment."""

import asyncio
import time

import httpx
import pytest

from tests.faults.conftest import seed

pytestmark = pytest.mark.faults

ASK = "/api/v1/mesh/supervisor/questions"
BLOCK_WAIT = 8.0  # MESH_BLOCK_WAIT_SECONDS on both processes
ASKS = 100


async def _list_pending(client, url, token) -> list[dict]:
    reply = await client.get(
        f"{url}/api/v1/mesh/questions", headers={"Authorization": f"Bearer {token}"}
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_blocked_asks_survive_a_redis_outage_and_wakes_resume_when_it_returns(daphne, redis, pg):
    """With Redis stopped under 100 blocked asks (process A): answers given on process B reach
    their waiters at the deadline through the final database read, the others return
    stillPending; no 5xx; /healthz on both is 503 channelLayer; once Redis is back on the same
    port, an answer on B wakes a new ask on A at once, without restarting daphne."""
    a = daphne("a", MESH_BLOCK_WAIT_SECONDS=BLOCK_WAIT)
    b = daphne("b", MESH_BLOCK_WAIT_SECONDS=BLOCK_WAIT)
    world = seed(pg, tasks=10)
    token, keys = world["token"], world["keys"]
    figures: dict[str, float] = {}

    async def scenario():
        limits = httpx.Limits(max_connections=300, max_keepalive_connections=50)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:

            async def ask(index: int):
                reply = await client.post(
                    f"{a.url}{ASK}",
                    json={"question": f"Deploy shard {index}?", "phaseguard": index % 2 == 0},
                    headers={"X-Makima-Tool-Key": keys[index % len(keys)]},
                )
                return reply, time.monotonic()

            asks = [asyncio.ensure_future(ask(index)) for index in range(ASKS)]
            # All 100 waiting on A: rows exist and A's hub holds their futures.
            deadline = time.monotonic() + 15
            while True:
                pending = await _list_pending(client, b.url, token)
                hub = (await client.get(f"{a.url}/_ops/wakehub")).json()["hub"]
                if len(pending) == ASKS and hub and hub["futures"] == ASKS:
                    break
                assert time.monotonic() < deadline, (len(pending), hub)
                await asyncio.sleep(0.1)
            asked_by = time.monotonic()

            redis.stop()
            stopped_at = time.monotonic()
            answers = {item["questionId"]: f"yes to {item['question']}" for item in pending[::2]}

            async def answer(question_id: str, response: str) -> None:
                reply = await client.post(
                    f"{b.url}/api/v1/mesh/questions/{question_id}/answer",
                    json={"response": response},
                    headers={"Authorization": f"Bearer {token}"},
                )
                # committed in PostgreSQL
                assert reply.status_code == 200, (reply.text, b.log()[-4000:])

            await asyncio.gather(*(answer(*item) for item in answers.items()))
            figures["answers_while_down_s"] = time.monotonic() - stopped_at
            # The waiters' deadlines are still ahead: the answers must reach them.
            assert time.monotonic() - asked_by < BLOCK_WAIT - 1, figures

            for server in (a, b):
                health = await client.get(f"{server.url}/healthz")
                assert health.status_code == 503, health.text
                assert health.json()["channelLayer"] == "unavailable"
                assert health.json()["database"] == "ok"

            results = await asyncio.gather(*asks)
            returned_by = max(finished for _, finished in results)
            figures["last_waiter_after_stop_s"] = returned_by - stopped_at
            # Every waiter's deadline is BLOCK_WAIT after its ask began (all began before
            # asked_by); allow for the final read and scheduling on 2 cores.
            assert returned_by - asked_by <= BLOCK_WAIT + 3
            for reply, _ in results:
                assert reply.status_code == 200, reply.text
                body = reply.json()
                if body["questionId"] in answers:
                    assert body["response"] == answers[body["questionId"]], body
                    assert body["stillPending"] is False
                else:
                    assert body["response"] is None
                    assert body["stillPending"] is True
                assert body["timedOut"] is False

            # Redis comes back on the same port; the processes are not restarted.
            redis.start()
            back_at = time.monotonic()
            recovered = None
            while recovered is None:
                assert time.monotonic() - back_at < 15, "wakes never crossed processes again"
                elapsed = await _cross_process_wake(client, a.url, b.url, token, keys[0])
                if elapsed is not None and elapsed < 1.0:
                    recovered = time.monotonic() - back_at
            figures["wakes_back_after_s"] = recovered
            figures["wake_latency_after_recovery_s"] = elapsed
            for server in (a, b):
                health = await client.get(f"{server.url}/healthz")
                assert health.status_code == 200, (health.text, server.log()[-3000:])

    asyncio.run(scenario())
    for name, server in (("a", a), ("b", b)):
        assert "Traceback" not in server.log() or "ConnectionError" in server.log(), name
    print("redis outage figures:", {k: round(v, 3) for k, v in figures.items()})


async def _cross_process_wake(client, url_a, url_b, token, key) -> float | None:
    """Ask on A (blocking), answer on B; seconds from the answer to the ask's reply, or None
    when the ask ran into its deadline (the wake did not cross)."""
    question = f"Recovered? {time.monotonic()}"
    ask = asyncio.ensure_future(
        client.post(
            f"{url_a}{ASK}",
            json={"question": question, "phaseguard": True},
            headers={"X-Makima-Tool-Key": key},
        )
    )
    question_id = None
    while question_id is None:
        await asyncio.sleep(0.05)
        for item in await _list_pending(client, url_b, token):
            if item["question"] == question:
                question_id = item["questionId"]
    answered_at = time.monotonic()
    reply = await client.post(
        f"{url_b}/api/v1/mesh/questions/{question_id}/answer",
        json={"response": "back"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert reply.status_code == 200, reply.text
    result = await ask
    assert result.status_code == 200 and result.json()["response"] == "back", result.text
    elapsed = time.monotonic() - answered_at
    return elapsed if elapsed < BLOCK_WAIT / 2 else None


def test_other_process_local_channels_still_receive_while_the_hub_listens(redis):
    """A websocket consumer's channel (layer.new_channel()) on the process's layer receives
    its group message while the wake hub's listener is receiving on the same layer."""
    from channels_redis.core import RedisChannelLayer
    from django.conf import settings

    from mesh.wakeups.hub import WakeHub

    config = {
        **settings.CHANNEL_LAYERS["default"]["CONFIG"],
        "hosts": [{"address": redis.url, "socket_timeout": 15}],
    }

    async def scenario():
        layer = RedisChannelLayer(**config)
        hub = WakeHub(layer)
        try:
            future = hub.register("q")
            assert await hub.wait_ready()
            channel = await layer.new_channel()
            await layer.group_add("mesh.owner.1", channel)
            await layer.group_send("mesh.owner.1", {"type": "owner.event"})
            assert await asyncio.wait_for(layer.receive(channel), 3) == {"type": "owner.event"}
            await layer.group_send("mesh.wakeups", {"type": "question.settled", "question_id": "q"})
            await asyncio.wait_for(future, 3)
            hub.unregister("q", future)
        finally:
            await hub.close()

    asyncio.run(scenario())
