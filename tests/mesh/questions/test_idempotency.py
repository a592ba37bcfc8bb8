"""POST ask with an Idempotency-Key: a retry attaches to the first question, never a second."""

import asyncio

import pytest
from rest_framework import status

from mesh.models import Question
from tests import factories
from tests.mesh.conftest import (
    ASK_PATH,
    answer_async,
    ask,
    asked_question_id,
    communicator,
    in_thread,
)

pytestmark = pytest.mark.django_db(transaction=True)

count_questions = in_thread(lambda: Question.objects.count())


def keyed(key: str | bytes) -> list[tuple[bytes, bytes]]:
    return [(b"idempotency-key", key.encode() if isinstance(key, str) else key)]


async def test_a_repeated_non_blocking_ask_returns_the_same_question(hub, task_and_key):
    _, key = task_and_key
    body = {"question": "Once?", "nonBlocking": True}
    first = await ask(key, body, headers=keyed("k-1"))
    second = await ask(key, body, headers=keyed("k-1"))
    assert first.status == second.status == status.HTTP_200_OK
    assert first.json()["questionId"] == second.json()["questionId"]
    assert await count_questions() == 1


async def test_a_retry_after_a_dropped_connection_gets_the_answer_given_meanwhile(
    hub, settings, task_and_key, owner
):
    """The client hung up mid-wait; the owner answered; the retry returns the answer at once."""
    settings.MESH_AUTO_TIMEOUT_SECONDS = 10
    _, key = task_and_key
    body = {"question": "Deploy?"}
    dropped = communicator("POST", ASK_PATH, body=body, tool_key=key, headers=keyed("k-2"))
    await dropped.send_input({"type": "http.request", "body": b'{"question": "Deploy?"}'})
    question_id = await asked_question_id(hub)
    await dropped.send_input({"type": "http.disconnect"})
    await dropped.wait(timeout=2)
    await answer_async(question_id=question_id, owner=owner, response="yes")
    retried = await asyncio.wait_for(ask(key, body, headers=keyed("k-2")), 2)
    assert retried.status == status.HTTP_200_OK
    assert retried.json()["questionId"] == question_id
    assert retried.json()["response"] == "yes"
    assert await count_questions() == 1


async def test_a_retry_of_a_pending_question_waits_again_and_is_woken(
    hub, settings, task_and_key, owner
):
    settings.MESH_AUTO_TIMEOUT_SECONDS = 10
    task, key = task_and_key
    first = await ask(key, {"question": "Go?", "nonBlocking": True}, headers=keyed("k-3"))
    question_id = first.json()["questionId"]
    # The same body, blocking this time, would be another body: retry exactly.
    retry = asyncio.ensure_future(
        ask(key, {"question": "Go?", "nonBlocking": True}, headers=keyed("k-3"))
    )
    assert (await retry).json()["questionId"] == question_id
    blocking = asyncio.ensure_future(ask(key, {"question": "Wait?"}, headers=keyed("k-4")))
    waited_id = await asked_question_id(hub)
    again = asyncio.ensure_future(ask(key, {"question": "Wait?"}, headers=keyed("k-4")))
    await asyncio.sleep(0.2)
    assert not again.done()
    await answer_async(question_id=waited_id, owner=owner, response="now")
    replies = await asyncio.wait_for(asyncio.gather(blocking, again), 2)
    assert [reply.json()["response"] for reply in replies] == ["now", "now"]
    assert {reply.json()["questionId"] for reply in replies} == {waited_id}
    assert await count_questions() == 2


@pytest.mark.parametrize(
    "changed",
    [
        {"question": "Something else?"},
        {"choices": ["a", "b"]},
        {"context": "more"},
        {"multiSelect": False, "choices": ["x"]},
        {"nonBlocking": False},
        {"ttlSeconds": 120},
    ],
)
async def test_the_same_key_with_another_body_is_422_and_changes_nothing(
    hub, task_and_key, changed
):
    _, key = task_and_key
    body = {"question": "Once?", "nonBlocking": True}
    await ask(key, body, headers=keyed("k-5"))
    reply = await ask(key, {**body, **changed}, headers=keyed("k-5"))
    assert reply.status == 422
    assert reply.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await count_questions() == 1


async def test_another_tasks_key_space_is_its_own(hub, owner, directive, task_and_key):
    _, key = task_and_key
    _, other_key = await in_thread(factories.make_task)(owner, directive)
    body = {"question": "Mine?", "nonBlocking": True}
    mine = await ask(key, body, headers=keyed("shared"))
    theirs = await ask(other_key, {**body, "question": "Theirs?"}, headers=keyed("shared"))
    assert theirs.status == status.HTTP_200_OK
    assert mine.json()["questionId"] != theirs.json()["questionId"]
    assert await count_questions() == 2


async def test_concurrent_duplicates_create_exactly_one_question(hub, task_and_key):
    _, key = task_and_key
    body = {"question": "Race?", "nonBlocking": True}
    replies = await asyncio.gather(*(ask(key, body, headers=keyed("k-6")) for _ in range(6)))
    assert {reply.status for reply in replies} == {status.HTTP_200_OK}
    assert len({reply.json()["questionId"] for reply in replies}) == 1
    assert await count_questions() == 1


async def test_a_key_past_the_window_asks_anew(hub, settings, task_and_key):
    settings.MESH_IDEMPOTENCY_SECONDS = 0
    _, key = task_and_key
    body = {"question": "Again?", "nonBlocking": True}
    first = await ask(key, body, headers=keyed("k-7"))
    second = await ask(key, {**body, "question": "Anew?"}, headers=keyed("k-7"))
    assert first.json()["questionId"] != second.json()["questionId"]
    assert await count_questions() == 2


@pytest.mark.parametrize(
    "raw", [b"", b"   ", b"x" * 256, "clé".encode("latin-1"), b"tab\there"], ids=repr
)
async def test_a_bad_key_is_400_with_details_and_stores_nothing(hub, task_and_key, raw):
    _, key = task_and_key
    reply = await ask(key, {"question": "Bad key?", "nonBlocking": True}, headers=keyed(raw))
    assert reply.status == status.HTTP_400_BAD_REQUEST
    assert reply.json()["code"] == "VALIDATION_ERROR"
    assert "Idempotency-Key" in reply.json()["details"]
    assert await count_questions() == 0
