"""Wakes across server processes: two hubs with their own Redis subscriptions in one process,
and two real daphne processes on PostgreSQL + Redis (marker `multiprocess`)."""

import asyncio
import time
import uuid

import httpx
import pytest
from django.conf import settings
from django.db import connection

from mesh.models import Question
from mesh.questions import services as question_services
from mesh.wakeups import hub as wake_hub
from mesh.wakeups.hub import WakeHub
from mesh.wakeups.transports import (
    PUBSUB_CLIENT_NAME,
    WAKE_MESSAGE_TYPE,
    RedisPubSubTransport,
    publish_wake,
    pubsub_channel,
)
from mesh.wakeups.wait import wait_until_settled
from tests import factories
from tests.mesh.conftest import in_thread

pytestmark = pytest.mark.django_db(transaction=True)

needs_redis = pytest.mark.skipif(
    not settings.REDIS_URL, reason="needs Redis: set REDIS_URL (the PostgreSQL+Redis CI pass)"
)


def pubsub_hub() -> WakeHub:
    """A hub with a Redis subscription of its own, as a separate server process has."""
    return WakeHub(transport=RedisPubSubTransport(settings.REDIS_URL, pubsub_channel()))


class Outcome:
    def __init__(self, status):
        self.status = status
        self.settled = status != Question.Status.PENDING


def outcome_reader(question_id):
    @in_thread
    def read():
        return Outcome(
            Question.objects.filter(pk=question_id).values_list("status", flat=True).first()
        )

    return read


@needs_redis
async def test_an_answer_wakes_waiters_in_two_processes(task_and_key, owner):
    """Two hubs with their own Redis subscriptions (two processes): one answer wakes both
    waiters, with the answer in the wake (no hub is the answering process's own)."""
    task, _ = task_and_key
    question = await in_thread(factories.make_question)(task)
    hub_a, hub_b = pubsub_hub(), pubsub_hub()
    try:
        read = outcome_reader(question.id)
        waiters = [
            asyncio.ensure_future(wait_until_settled(question.id, timeout=10, read=read, hub=hub))
            for hub in (hub_a, hub_b)
        ]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while not (
            hub_a.future_count and hub_b.future_count and hub_a.listening and hub_b.listening
        ):
            assert loop.time() < deadline
            await asyncio.sleep(0.01)
        started = loop.time()
        await in_thread(question_services.question_answer)(
            question_id=question.id, owner=owner, response="both"
        )
        results = await asyncio.wait_for(asyncio.gather(*waiters), 2)
        assert all(result.status == Question.Status.ANSWERED for result in results)
        assert loop.time() - started < 1
        assert hub_a.wakes_received >= 1 and hub_b.wakes_received >= 1
    finally:
        await hub_a.close()
        await hub_b.close()


@needs_redis
async def test_a_wake_published_by_another_process_reaches_the_hub(db):
    """publish_wake (what a service in process B calls after commit) resolves process A's
    future with the outcome it carries."""
    hub = pubsub_hub()
    try:
        question_id = str(uuid.uuid4())
        future = hub.register(question_id)
        assert await hub.wait_ready()
        outcome = {"status": "answered", "response": "from B"}
        await asyncio.to_thread(
            publish_wake,
            {"type": WAKE_MESSAGE_TYPE, "question_id": question_id, "outcome": outcome},
        )
        assert await asyncio.wait_for(future, 2) == outcome
        hub.unregister(question_id, future)
    finally:
        await hub.close()


@needs_redis
async def test_the_subscriber_comes_back_after_its_connection_is_killed(db, monkeypatch):
    """Redis dropped the subscriber's connection (restart, timeout): the listener
    resubscribes and every waiter re-reads its row (wakes may have been missed)."""
    import redis

    monkeypatch.setattr(wake_hub, "BACKOFF_INITIAL_SECONDS", 0.01)
    hub = pubsub_hub()
    try:
        future = hub.register("q1")
        assert await hub.wait_ready()
        client = redis.Redis.from_url(settings.REDIS_URL)
        killed = 0
        for info in client.client_list():
            if info.get("name") == PUBSUB_CLIENT_NAME and int(info.get("sub", 0)) > 0:
                client.client_kill_filter(_id=info["id"])
                killed += 1
        assert killed >= 1
        assert await asyncio.wait_for(future, 5) is None  # wake_all: "read the row"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while not (hub.listener_starts >= 2 and hub.listening):
            assert loop.time() < deadline
            await asyncio.sleep(0.01)
        hub.unregister("q1", future)
    finally:
        await hub.close()


# --- two real daphne processes -----------------------------------------------------------------
@pytest.fixture
def daphne_pair(daphne_servers):
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("needs DATABASE_URL=postgres://... and REDIS_URL (the PostgreSQL+Redis pass)")
    servers = [daphne_servers(name, MESH_AUTO_TIMEOUT_SECONDS="30") for name in ("a", "b")]
    return [server.base_url for server in servers]


@pytest.mark.multiprocess
def test_answer_on_process_b_wakes_an_ask_blocked_on_process_a(daphne_pair, owner, directive):
    """Ask blocked on daphne A, answer posted to daphne B: the ask returns the answer fast."""
    url_a, url_b = daphne_pair
    task, key = factories.make_task(owner, directive)
    token = factories.make_token(owner)

    async def scenario():
        async with httpx.AsyncClient(timeout=40) as client:
            ask = asyncio.ensure_future(
                client.post(
                    f"{url_a}/api/v1/mesh/supervisor/questions",
                    json={"question": "Cross-process?"},
                    headers={"X-Makima-Tool-Key": key},
                )
            )
            listed = []
            deadline = time.monotonic() + 10
            while not listed:
                assert time.monotonic() < deadline, "the question never appeared"
                await asyncio.sleep(0.05)
                listed = (
                    await client.get(
                        f"{url_b}/api/v1/mesh/questions",
                        headers={"Authorization": f"Bearer {token}"},
                    )
                ).json()
            await asyncio.sleep(0.2)  # let process A's waiter reach its await
            started = time.monotonic()
            answered = await client.post(
                f"{url_b}/api/v1/mesh/questions/{listed[0]['questionId']}/answer",
                json={"response": "from B"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert answered.status_code == 200
            reply = await asyncio.wait_for(ask, 5)
            return reply, time.monotonic() - started

    reply, elapsed = asyncio.run(scenario())
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/json"
    assert reply.json()["response"] == "from B"
    assert reply.json()["timedOut"] is False
    print(f"cross-process wake: {elapsed * 1000:.1f} ms")
    assert elapsed < 1.0
