"""GET /api/v1/mesh/supervisor/questions/{id}/poll: the poll consumer."""

import asyncio
import uuid

import pytest
from rest_framework import status

from mesh.models import Question
from mesh.questions import services as question_services
from mesh.wakeups.hub import close_hub, get_hub
from tests import factories
from tests.mesh.conftest import (
    answer_async,
    ask,
    call,
    communicator,
    in_thread,
    poll,
    poll_path,
    until,
)

pytestmark = pytest.mark.django_db(transaction=True)

make_question = in_thread(factories.make_question)
expire = in_thread(question_services.question_expire)


async def test_answered_before_the_poll_returns_at_once(hub, task_and_key, owner, settings):
    """An answer given before the poll: 200 with the response, no waiting."""
    settings.MESH_POLL_WAIT_SECONDS = 10
    task, key = task_and_key
    question = await make_question(task)
    await answer_async(question_id=question.id, owner=owner, response="yes")
    loop = asyncio.get_running_loop()
    started = loop.time()
    reply = await poll(key, question.id)
    assert loop.time() - started < 1
    assert reply.status == status.HTTP_200_OK
    assert reply.json() == {
        "questionId": str(question.id),
        "response": "yes",
        "timedOut": False,
        "stillPending": False,
        "status": "answered",
        "reason": None,
    }
    assert reply.headers[b"content-type"] == b"application/json"


async def test_polling_again_returns_the_same_answer(hub, task_and_key, owner):
    """A client that lost the first reply gets the same answer on every poll."""
    task, key = task_and_key
    question = await make_question(task)
    await answer_async(question_id=question.id, owner=owner, response="blue")
    first = await poll(key, question.id)
    second = await poll(key, question.id)
    assert first.json() == second.json()
    assert second.json()["response"] == "blue"


async def test_pending_waits_the_poll_wait_then_still_pending(hub, task_and_key, settings):
    """Pending: wait MESH_POLL_WAIT_SECONDS, then 200 stillPending; the question stays."""
    settings.MESH_POLL_WAIT_SECONDS = 0.2
    settings.MESH_BLOCK_WAIT_SECONDS = 30
    task, key = task_and_key
    question = await make_question(task)
    loop = asyncio.get_running_loop()
    started = loop.time()
    reply = await poll(key, question.id)
    assert 0.2 <= loop.time() - started < 2
    assert reply.status == status.HTTP_200_OK
    assert reply.json()["stillPending"] is True
    assert reply.json()["response"] is None
    assert hub.future_count == 0


async def test_re_poll_after_still_pending_gets_the_answer(hub, task_and_key, owner, settings):
    """The CLI flow: ask → stillPending → poll → (answer) → the answer."""
    settings.MESH_BLOCK_WAIT_SECONDS = 0.05
    settings.MESH_POLL_WAIT_SECONDS = 10
    _, key = task_and_key
    first = await ask(key, {"question": "Merge?", "phaseguard": True})
    assert first.json()["stillPending"] is True
    question_id = first.json()["questionId"]
    pending = asyncio.ensure_future(poll(key, question_id, timeout=15))
    await until(lambda: hub.future_count == 1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await answer_async(question_id=question_id, owner=owner, response="merge")
    reply = await pending
    assert loop.time() - started < 1
    assert reply.json()["response"] == "merge"
    assert reply.json()["stillPending"] is False


async def test_poll_by_another_task_of_the_same_owner_is_404(hub, task_and_key, owner, directive):
    """Only the asking task may poll its question."""
    task, _ = task_and_key
    question = await make_question(task)
    _, other_key = await in_thread(factories.make_task)(owner, directive)
    reply = await poll(other_key, question.id)
    assert reply.status == status.HTTP_404_NOT_FOUND
    assert reply.json()["code"] == "NOT_FOUND"


async def test_poll_by_another_owners_task_is_404(hub, task_and_key, other_owner):
    """Another owner's task cannot learn anything about the question."""
    task, _ = task_and_key
    question = await make_question(task)
    directive = await in_thread(factories.make_directive)(other_owner)
    _, other_key = await in_thread(factories.make_task)(other_owner, directive)
    reply = await poll(other_key, question.id)
    assert reply.status == status.HTTP_404_NOT_FOUND


async def test_unknown_question_is_404(hub, task_and_key):
    """An id no question has: 404 NOT_FOUND."""
    _, key = task_and_key
    reply = await poll(key, uuid.uuid4())
    assert reply.status == status.HTTP_404_NOT_FOUND
    assert reply.json()["code"] == "NOT_FOUND"


async def test_withdrawn_question_is_404(hub, task_and_key):
    """A question withdrawn by the auto timeout can no longer be polled (nor answered)."""
    task, key = task_and_key
    question = await make_question(task)
    await expire(question_id=question.id)
    reply = await poll(key, question.id)
    assert reply.status == status.HTTP_404_NOT_FOUND


async def test_withdrawn_while_polling_is_404(hub, task_and_key, settings):
    """A question withdrawn during the poll ends the poll with 404 at once."""
    settings.MESH_POLL_WAIT_SECONDS = 10
    task, key = task_and_key
    question = await make_question(task)
    pending = asyncio.ensure_future(poll(key, question.id, timeout=15))
    await until(lambda: hub.future_count == 1)
    await expire(question_id=question.id)
    reply = await asyncio.wait_for(pending, 1)
    assert reply.status == status.HTTP_404_NOT_FOUND


async def test_non_uuid_id_is_404(hub, task_and_key):
    """A path id that is not a UUID is 404, not 500."""
    _, key = task_and_key
    reply = await call("GET", "/api/v1/mesh/supervisor/questions/not-a-uuid/poll", tool_key=key)
    assert reply.status == status.HTTP_404_NOT_FOUND
    assert reply.json()["code"] == "NOT_FOUND"


async def test_missing_key_is_401_even_for_a_bad_id(hub, db):
    """Authentication comes first: no key is 401 whatever the id."""
    reply = await call("GET", "/api/v1/mesh/supervisor/questions/not-a-uuid/poll")
    assert reply.status == status.HTTP_401_UNAUTHORIZED
    reply = await call("GET", poll_path(uuid.uuid4()))
    assert reply.status == status.HTTP_401_UNAUTHORIZED
    assert hub.future_count == 0


async def test_owner_token_is_401(hub, task_and_key, owner_token):
    """An owner token never authenticates the poll."""
    task, _ = task_and_key
    question = await make_question(task)
    reply = await call("GET", poll_path(question.id), token=owner_token)
    assert reply.status == status.HTTP_401_UNAUTHORIZED


async def test_wrong_method_is_405(hub, task_and_key):
    """POST on the poll path: 405 in the error shape."""
    task, key = task_and_key
    question = await make_question(task)
    reply = await call("POST", poll_path(question.id), body={}, tool_key=key)
    assert reply.status == status.HTTP_405_METHOD_NOT_ALLOWED
    assert reply.json()["code"] == "METHOD_NOT_ALLOWED"
    assert reply.headers[b"allow"] == b"GET"


async def test_disconnect_mid_poll_ends_within_a_second(hub, task_and_key, settings):
    """A client that hangs up mid-poll: the wait ends within 1 s and unregisters."""
    settings.MESH_POLL_WAIT_SECONDS = 30
    task, key = task_and_key
    question = await make_question(task)
    comm = communicator("GET", poll_path(question.id), tool_key=key)
    await comm.send_input({"type": "http.request", "body": b""})
    await until(lambda: hub.future_count == 1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await comm.send_input({"type": "http.disconnect"})
    await comm.wait(timeout=1)
    assert loop.time() - started < 1
    assert hub.future_count == 0
    refreshed = await in_thread(Question.objects.get)(pk=question.id)
    assert refreshed.status == Question.Status.PENDING


async def test_restart_survival_new_hub_same_database(task_and_key, owner):
    """Questions live in the database: after a "restart" (a new hub), a re-poll gets the answer."""
    _, key = task_and_key
    first_hub = get_hub()
    asked = await ask(key, {"question": "Survive?", "nonBlocking": True})
    question_id = asked.json()["questionId"]
    await close_hub()  # the old process is gone, with its hub and listener
    await answer_async(question_id=question_id, owner=owner, response="survived")
    second_hub = get_hub()
    assert second_hub is not first_hub
    try:
        reply = await poll(key, question_id)
        assert reply.json()["response"] == "survived"
    finally:
        await close_hub()


async def test_restart_while_waiting_loses_no_answer(task_and_key, owner, settings):
    """A wait cut short by a restart leaves the question pending; the re-poll is woken."""
    settings.MESH_POLL_WAIT_SECONDS = 10
    task, key = task_and_key
    question = await make_question(task)
    old_hub = get_hub()
    comm = communicator("GET", poll_path(question.id), tool_key=key)
    await comm.send_input({"type": "http.request", "body": b""})
    await until(lambda: old_hub.future_count == 1)
    await comm.send_input({"type": "http.disconnect"})  # the old server went down
    await comm.wait(timeout=1)
    await close_hub()
    new_hub = get_hub()
    try:
        pending = asyncio.ensure_future(poll(key, question.id, timeout=15))
        await until(lambda: new_hub.future_count == 1)
        await answer_async(question_id=question.id, owner=owner, response="after restart")
        reply = await asyncio.wait_for(pending, 1)
        assert reply.json()["response"] == "after restart"
    finally:
        await close_hub()
