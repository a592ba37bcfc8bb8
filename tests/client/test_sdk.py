"""The SDK against a real daphne: a restart mid-wait, idempotent asks, every error class,
the owner side, and secrets kept out of reprs and logs."""

import asyncio
import logging
import threading
import time
import uuid

import pytest
from makima_client import (
    AsyncMakimaClient,
    AuthError,
    Conflict,
    MakimaClient,
    NotFound,
    RetryPolicy,
    Unavailable,
    ValidationError,
)

from mesh.models import Question
from mesh.questions import services as question_services
from tests import factories
from tests.client.conftest import SERVER_WAITS, free_port_url

pytestmark = pytest.mark.django_db(transaction=True)
FAST = RetryPolicy(base=0.05, cap=0.2, budget=30)


def test_a_server_killed_and_restarted_mid_wait_ends_with_the_answer(owner, daphne_servers):
    directive = factories.make_directive(owner, reconcile_mode="manual")
    _, tool_key = factories.make_task(owner, directive)
    server = daphne_servers("client-restart", **{**SERVER_WAITS, "MESH_BLOCK_WAIT_SECONDS": "60"})
    client = MakimaClient(server.base_url, tool_key=tool_key, retry=FAST)
    result: dict = {}
    asker = threading.Thread(target=lambda: result.update(outcome=client.ask("Roll back?")))
    asker.start()
    deadline = time.monotonic() + 10
    while not Question.objects.exists():
        assert time.monotonic() < deadline, "the question never appeared"
        time.sleep(0.05)

    server.process.kill()  # SIGKILL: the held ask gets no reply
    server.process.wait(timeout=10)
    question = Question.objects.get()
    question_services.question_answer(question_id=question.id, owner=owner, response="yes")
    time.sleep(0.3)  # the client is retrying against a closed port meanwhile
    server.restart()
    asker.join(timeout=20)

    assert result["outcome"].status == "answered"
    assert result["outcome"].response == "yes"
    assert result["outcome"].question_id == str(question.id)
    assert Question.objects.count() == 1


def test_asks_with_one_key_make_one_question(mesh):
    client = MakimaClient(mesh.url, tool_key=mesh.tool_key)
    first = client.ask("Deploy?", non_blocking=True, idempotency_key="deploy-1")
    again = client.ask("Deploy?", non_blocking=True, idempotency_key="deploy-1")
    assert first.status == again.status == "pending"
    assert first.question_id == again.question_id
    assert Question.objects.count() == 1
    with pytest.raises(Conflict) as reused:
        client.ask("Deploy now?", non_blocking=True, idempotency_key="deploy-1")
    assert (reused.value.code, reused.value.status) == ("IDEMPOTENCY_KEY_REUSED", 422)


def test_every_error_class_carries_the_servers_code_message_and_status(mesh):
    client = MakimaClient(mesh.url, tool_key=mesh.tool_key, token=mesh.token, retry=FAST)

    with pytest.raises(ValidationError) as invalid:
        client.ask("Soon?", ttl_seconds=5)
    assert invalid.value.code == "VALIDATION_ERROR" and invalid.value.status == 400
    assert "ttlSeconds" in invalid.value.details

    with pytest.raises(AuthError) as unauthorized:
        MakimaClient(mesh.url, tool_key="mtk_wrong_key").ask("Hi?")
    assert (unauthorized.value.code, unauthorized.value.status) == ("UNAUTHORIZED", 401)
    assert unauthorized.value.message

    with pytest.raises(NotFound) as missing:
        client.poll(str(uuid.uuid4()))
    assert (missing.value.code, missing.value.status) == ("NOT_FOUND", 404)

    asked = client.ask("Merge?", non_blocking=True)
    client.answer(asked.question_id, "yes")
    with pytest.raises(Conflict) as settled:
        client.cancel(asked.question_id, "too late")
    assert (settled.value.code, settled.value.status) == ("ALREADY_SETTLED", 409)
    assert settled.value.body["status"] == "answered"

    with pytest.raises(Unavailable) as unreachable:
        MakimaClient(free_port_url(), tool_key="k", retry=FAST).ask("Hi?", max_wait=0.5)
    assert unreachable.value.code == "UNREACHABLE"
    # RateLimited (429 with retry_after) is forced by the stub: tests/client/test_retries.py


def test_task_side_poll_wait_cancel(mesh):
    client = MakimaClient(mesh.url, tool_key=mesh.tool_key)
    asked = client.ask("Which?", choices=["a", "b"], multi_select=True, non_blocking=True)
    assert client.poll(asked.question_id).status == "pending"  # after the 0.3 s poll wait
    assert client.wait(asked.question_id, max_wait=0.5).status == "pending"
    mesh.owner_post(f"/api/v1/mesh/questions/{asked.question_id}/answer", {"response": '["a","b"]'})
    done = client.wait(asked.question_id)
    assert (done.status, done.responses) == ("answered", ["a", "b"])

    other = client.ask("Still?", non_blocking=True)
    cancelled = client.cancel(other.question_id, reason="found it")
    assert cancelled.status == "cancelled"
    polled = client.poll(other.question_id)
    assert (polled.status, polled.reason) == ("cancelled", "found it")


def test_owner_side_and_the_feed_with_the_async_client(mesh):
    async def run() -> list[dict]:
        task = AsyncMakimaClient(mesh.url, tool_key=mesh.tool_key)
        owner = AsyncMakimaClient(mesh.url, token=mesh.token)
        events: list[dict] = []
        feed = owner.watch()
        events.append(await feed.__anext__())  # the snapshot
        asked = await task.ask("Ship?", non_blocking=True)
        events.append(await feed.__anext__())  # question.asked
        pending = await owner.pending()
        assert [item["questionId"] for item in pending] == [asked.question_id]
        listed = await owner.questions(status="pending")  # the history resource, filtered
        assert [(item["id"], item["status"]) for item in listed] == [(asked.question_id, "pending")]
        await owner.answer(asked.question_id, "go")
        events.append(await feed.__anext__())  # question.answered
        outcome = await task.wait(asked.question_id)
        assert outcome.response == "go"
        second = await task.ask("Again?", non_blocking=True)
        await owner.decline(second.question_id, reason="no")
        assert (await task.poll(second.question_id)).status == "declined"
        await feed.aclose()
        await task.aclose()
        await owner.aclose()
        return events

    events = asyncio.run(run())
    assert [event["type"] for event in events] == [
        "snapshot",
        "question.asked",
        "question.answered",
    ]


def test_secrets_stay_out_of_reprs_and_logs(mesh, caplog):
    caplog.set_level(logging.DEBUG)
    client = MakimaClient(mesh.url, tool_key=mesh.tool_key, token=mesh.token)
    client.ask("Quiet?", non_blocking=True)
    client.pending()
    with pytest.raises(Unavailable):
        MakimaClient(free_port_url(), tool_key=mesh.tool_key, retry=FAST).ask("x", max_wait=0.3)
    for text in (repr(client), str(client.__dict__), caplog.text):
        assert mesh.tool_key not in text
        assert mesh.token not in text
    assert "***" in repr(client)
