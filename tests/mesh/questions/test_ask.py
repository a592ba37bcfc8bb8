"""POST /api/v1/mesh/supervisor/questions: the ask consumer and its timeout policy."""

import asyncio
import json

import pytest
from rest_framework import status

from directives.models import Directive
from makima_site.errors import NotFound
from mesh.models import Question
from mesh.questions import steps, waiting
from mesh.tasks import services as task_services
from tests import factories
from tests.mesh.conftest import (
    ASK_PATH,
    answer_async,
    ask,
    asked_question_id,
    call,
    communicator,
    finish,
    in_thread,
)

pytestmark = pytest.mark.django_db(transaction=True)

count_questions = in_thread(lambda: Question.objects.count())
get_question = in_thread(lambda pk: Question.objects.get(pk=pk))


@pytest.fixture
def set_mode(directive):
    def apply(mode: str) -> None:
        Directive.objects.filter(pk=directive.pk).update(reconcile_mode=mode)

    return apply


# --- the timeout policy ------------------------------------------------------------------------
async def test_non_blocking_returns_at_once_and_records_everything(hub, task_and_key, owner):
    """nonBlocking: 200 at once with a null response; the row holds task, directive, owner."""
    task, key = task_and_key
    reply = await ask(
        key,
        {
            "question": "Ship it?",
            "choices": ["yes", "no"],
            "context": "CI is green",
            "timeoutSeconds": 60,
            "multiSelect": True,
            "nonBlocking": True,
            "questionType": "phase_confirmation",
        },
    )
    assert reply.status == status.HTTP_200_OK
    body = reply.json()
    assert body["response"] is None
    assert body["timedOut"] is False
    assert body["stillPending"] is False
    question = await get_question(body["questionId"])
    assert question.task_id == task.id
    assert question.directive_id == task.directive_id
    assert question.owner_id == owner.id
    assert question.status == Question.Status.PENDING
    assert question.choices == ["yes", "no"]
    assert question.context == "CI is green"
    assert question.timeout_seconds == 60
    assert question.multi_select is True
    assert question.question_type == "phase_confirmation"
    assert hub.future_count == 0


async def test_reply_is_json_with_the_contract_keys(hub, task_and_key):
    """The reply is application/json with the reference's keys plus status and reason."""
    _, key = task_and_key
    reply = await ask(key, {"question": "Hi?", "nonBlocking": True})
    assert reply.headers[b"content-type"] == b"application/json"
    assert set(reply.json()) == {
        "questionId",
        "response",
        "timedOut",
        "stillPending",
        "status",
        "reason",
    }


@pytest.mark.parametrize(
    ("mode", "phaseguard"),
    [("auto", True), ("semi-auto", False), ("manual", False)],
)
async def test_block_wait_ends_still_pending(
    hub, task_and_key, set_mode, settings, mode, phaseguard
):
    """phaseguard or a semi-auto/manual directive: after the block wait, 200 stillPending."""
    settings.MESH_BLOCK_WAIT_SECONDS = 0.2
    settings.MESH_AUTO_TIMEOUT_SECONDS = 30
    await in_thread(set_mode)(mode)
    _, key = task_and_key
    started = asyncio.get_running_loop().time()
    reply = await ask(key, {"question": "Phase done?", "phaseguard": phaseguard})
    elapsed = asyncio.get_running_loop().time() - started
    assert reply.status == status.HTTP_200_OK
    assert reply.json()["stillPending"] is True
    assert reply.json()["timedOut"] is False
    assert reply.json()["response"] is None
    assert 0.2 <= elapsed < 2
    question = await get_question(reply.json()["questionId"])
    assert question.status == Question.Status.PENDING
    assert hub.future_count == 0


async def test_auto_mode_times_out_with_408_and_withdraws(hub, task_and_key, owner, settings):
    """Auto directive: after the auto timeout, 408 timedOut and the question is withdrawn."""
    settings.MESH_AUTO_TIMEOUT_SECONDS = 0.2
    settings.MESH_BLOCK_WAIT_SECONDS = 30
    _, key = task_and_key
    reply = await ask(key, {"question": "Retry?", "timeoutSeconds": 3600})
    assert reply.status == status.HTTP_408_REQUEST_TIMEOUT
    assert reply.json()["timedOut"] is True
    assert reply.json()["stillPending"] is False
    assert reply.json()["response"] is None
    question = await get_question(reply.json()["questionId"])
    assert question.status == Question.Status.EXPIRED
    with pytest.raises(NotFound):
        await answer_async(question_id=question.id, owner=owner, response="too late")


async def test_answer_wakes_the_blocked_ask(hub, task_and_key, owner, settings):
    """An answer returns the blocked ask with 200 well before the wait limit."""
    settings.MESH_AUTO_TIMEOUT_SECONDS = 10
    _, key = task_and_key
    pending = asyncio.ensure_future(ask(key, {"question": "Deploy?"}, timeout=15))
    question_id = await asked_question_id(hub)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await answer_async(question_id=question_id, owner=owner, response="go")
    reply = await pending
    assert loop.time() - started < 1
    assert reply.status == status.HTTP_200_OK
    assert reply.json() == {
        "questionId": question_id,
        "response": "go",
        "timedOut": False,
        "stillPending": False,
        "status": "answered",
        "reason": None,
    }
    assert hub.future_count == 0


async def test_answer_wakes_an_ask_in_this_process_without_the_channel_layer(
    hub, task_and_key, owner, settings, monkeypatch
):
    """The answering process wakes its own waiters directly: no layer or Redis hop, and a
    publish that fails (Redis down) does not delay them."""

    class BrokenLayer:
        async def group_send(self, group, message):
            raise ConnectionError("the channel layer is down")

    settings.MESH_BLOCK_WAIT_SECONDS = 10
    _, key = task_and_key
    pending = asyncio.ensure_future(ask(key, {"question": "Go?", "phaseguard": True}, timeout=15))
    question_id = await asked_question_id(hub)
    monkeypatch.setattr("mesh.events.publisher.get_channel_layer", lambda: BrokenLayer())

    def broken_publish(message):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr("mesh.events.publisher.publish_wake", broken_publish)
    await answer_async(question_id=question_id, owner=owner, response="local")
    reply = await asyncio.wait_for(pending, 1)
    assert reply.json()["response"] == "local"
    assert hub.wakes_received == 0


async def test_a_woken_ask_takes_the_answer_from_the_wake_without_reading_the_row(
    hub, task_and_key, owner, settings, monkeypatch
):
    reads = []
    real_read = steps.read_outcome

    async def counting_read(question_id):
        reads.append(question_id)
        return await real_read(question_id)

    monkeypatch.setattr(steps, "read_outcome", counting_read)
    settings.MESH_BLOCK_WAIT_SECONDS = 10
    _, key = task_and_key
    pending = asyncio.ensure_future(ask(key, {"question": "Go?", "phaseguard": True}, timeout=15))
    await answer_async(question_id=await asked_question_id(hub), owner=owner, response="fast")
    reply = await asyncio.wait_for(pending, 1)
    assert reply.json()["response"] == "fast"
    assert reads == []


async def test_answer_wakes_a_phaseguard_ask(hub, task_and_key, owner, settings):
    """The block wait also ends at once on an answer."""
    settings.MESH_BLOCK_WAIT_SECONDS = 10
    _, key = task_and_key
    pending = asyncio.ensure_future(ask(key, {"question": "Go?", "phaseguard": True}, timeout=15))
    await answer_async(question_id=await asked_question_id(hub), owner=owner, response="ok")
    reply = await asyncio.wait_for(pending, 1)
    assert reply.json()["response"] == "ok"


async def test_ask_registers_before_the_row_exists(hub, task_and_key, monkeypatch):
    """Register first: the waiter is in the hub before the question is created."""
    _, key = task_and_key
    seen = []
    real_begin = steps.begin_ask

    async def spy(*args):
        seen.append(hub.future_count)
        return await real_begin(*args)

    monkeypatch.setattr(steps, "begin_ask", spy)
    await ask(key, {"question": "Q?", "nonBlocking": True})
    assert seen == [1]
    assert hub.future_count == 0


async def test_answer_at_the_deadline_wins_over_the_timeout(
    hub, task_and_key, owner, settings, monkeypatch
):
    """An answer that lands after the last read but before the withdrawal is returned (200)."""
    settings.MESH_AUTO_TIMEOUT_SECONDS = 0.05
    _, key = task_and_key
    real_wait = waiting.wait_until_settled

    async def wait_then_answer(question_id, **kwargs):
        snapshot = await real_wait(question_id, **kwargs)
        await answer_async(question_id=question_id, owner=owner, response="just in time")
        return snapshot  # the stale "pending" snapshot: the withdrawal must notice the answer

    monkeypatch.setattr(waiting, "wait_until_settled", wait_then_answer)
    reply = await ask(key, {"question": "Race?"})
    assert reply.status == status.HTTP_200_OK
    assert reply.json()["response"] == "just in time"
    question = await get_question(reply.json()["questionId"])
    assert question.status == Question.Status.ANSWERED


async def test_timeout_then_answer_is_404_and_nothing_is_stored(hub, task_and_key, owner, settings):
    """Once the ask returned 408, an answer is refused and never stored."""
    settings.MESH_AUTO_TIMEOUT_SECONDS = 0.05
    _, key = task_and_key
    reply = await ask(key, {"question": "Race?"})
    assert reply.status == status.HTTP_408_REQUEST_TIMEOUT
    with pytest.raises(NotFound):
        await answer_async(question_id=reply.json()["questionId"], owner=owner, response="late")
    question = await get_question(reply.json()["questionId"])
    assert question.response is None
    assert question.status == Question.Status.EXPIRED


async def test_concurrent_timeout_and_answer_agree(hub, task_and_key, owner, settings):
    """Answer and auto timeout at the same moment: 200+answer stored, or 408+answer refused."""
    _, key = task_and_key
    for _ in range(5):
        settings.MESH_AUTO_TIMEOUT_SECONDS = 0.1
        pending = asyncio.ensure_future(ask(key, {"question": "Race?"}))
        question_id = await asked_question_id(hub)
        await asyncio.sleep(0.09)
        try:
            await answer_async(question_id=question_id, owner=owner, response="maybe")
            answered = True
        except NotFound:
            answered = False
        reply = await pending
        question = await get_question(question_id)
        if answered:
            assert reply.status == status.HTTP_200_OK
            assert reply.json()["response"] == "maybe"
            assert question.status == Question.Status.ANSWERED
        else:
            assert reply.status == status.HTTP_408_REQUEST_TIMEOUT
            assert question.status == Question.Status.EXPIRED
            assert question.response is None


async def test_disconnect_mid_wait_ends_within_a_second_and_leaks_nothing(
    hub, task_and_key, settings, monkeypatch
):
    """A client that hangs up: the wait ends within 1 s, no future or task is left behind."""
    settings.MESH_BLOCK_WAIT_SECONDS = 30
    _, key = task_and_key
    created = asyncio.Event()
    real_begin = steps.begin_ask

    async def begin_then_signal(*args):
        # The creation step hands its after-commit publish to the loop before the wait
        # starts; a hang-up during that step ends when the step does (asgiref waits for
        # the thread).
        plan = await real_begin(*args)
        created.set()
        return plan

    monkeypatch.setattr(steps, "begin_ask", begin_then_signal)
    before = {task for task in asyncio.all_tasks() if task is not asyncio.current_task()}
    comm = communicator(
        "POST", ASK_PATH, body={"question": "Hello?", "phaseguard": True}, tool_key=key
    )
    await comm.send_input({"type": "http.request", "body": comm.body})
    await asyncio.wait_for(created.wait(), 5)
    question_id = await asked_question_id(hub)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await comm.send_input({"type": "http.disconnect"})
    await comm.wait(timeout=1)
    assert loop.time() - started < 1
    assert hub.future_count == 0
    assert hub.question_count == 0
    # The "asked" event's publish runs on the loop on its own (the request does not wait for
    # it): it must finish, not linger.
    publishing = [
        task
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__qualname__", "") == "publish" and task not in before
    ]
    if publishing:
        await asyncio.wait(publishing, timeout=2)
    await asyncio.sleep(0)
    leftover = {
        task
        for task in asyncio.all_tasks()
        if task is not asyncio.current_task() and task not in before and not task.done()
    }
    # Only the hub's listener tasks (one set per process) may remain of ours; channels_redis
    # keeps its own housekeeping tasks.
    ours = [
        task
        for task in leftover
        if "/mesh/" in getattr(getattr(task.get_coro(), "cr_code", None), "co_filename", "")
        and not task.get_name().startswith("mesh-wake-hub-")
    ]
    assert ours == []
    question = await get_question(question_id)
    assert question.status == Question.Status.PENDING  # the client may re-poll


# --- authentication ------------------------------------------------------------------------------
async def test_missing_tool_key_is_401(hub, task_and_key):
    """No tool key: 401 UNAUTHORIZED, nothing stored."""
    reply = await call("POST", ASK_PATH, body={"question": "Hi?"})
    assert reply.status == status.HTTP_401_UNAUTHORIZED
    assert reply.json()["code"] == "UNAUTHORIZED"
    assert await count_questions() == 0


async def test_owner_token_is_401(hub, owner_token):
    """An owner API token never authenticates a tool-key endpoint."""
    reply = await call("POST", ASK_PATH, body={"question": "Hi?"}, token=owner_token)
    assert reply.status == status.HTTP_401_UNAUTHORIZED
    assert reply.json()["code"] == "UNAUTHORIZED"


async def test_unknown_tool_key_is_401(hub, db):
    """A made-up key is 401."""
    reply = await ask("mtk_abcdef12_not-a-real-key", {"question": "Hi?"})
    assert reply.status == status.HTTP_401_UNAUTHORIZED


async def test_deleted_task_is_404(hub, owner, directive):
    """The key of a deleted task: 404 NOT_FOUND (task gone)."""
    task, key = await in_thread(factories.make_task)(owner, directive)
    await in_thread(task_services.task_delete)(task=task)
    reply = await ask(key, {"question": "Hi?"})
    assert reply.status == status.HTTP_404_NOT_FOUND
    assert reply.json()["code"] == "NOT_FOUND"


async def test_task_without_directive_is_403(hub, owner):
    """A task with no directive: 403 NOT_DIRECTIVE_TASK, nothing stored."""
    _, key = await in_thread(factories.make_task)(owner)
    reply = await ask(key, {"question": "Hi?"})
    assert reply.status == status.HTTP_403_FORBIDDEN
    assert reply.json()["code"] == "NOT_DIRECTIVE_TASK"
    assert await count_questions() == 0


# --- bad input ---------------------------------------------------------------------------------
BAD_BODIES = [
    ({}, "question"),
    ({"question": ""}, "question"),
    ({"question": "   "}, "question"),
    ({"question": "x" * 4001}, "question"),
    ({"question": 42}, "question"),
    ({"question": None}, "question"),
    ({"question": "Q", "choices": [f"c{i}" for i in range(51)]}, "choices"),
    ({"question": "Q", "choices": ["x" * 501]}, "choices.0"),
    ({"question": "Q", "choices": ["a", "b", "a"]}, "choices"),
    ({"question": "Q", "choices": ["a", 1]}, "choices.1"),
    ({"question": "Q", "choices": "a,b"}, "choices"),
    ({"question": "Q", "choices": None}, "choices"),
    ({"question": "Q", "context": "x" * 20001}, "context"),
    ({"question": "Q", "context": ["x"]}, "context"),
    ({"question": "Q", "timeoutSeconds": 0}, "timeoutSeconds"),
    ({"question": "Q", "timeoutSeconds": 86401}, "timeoutSeconds"),
    ({"question": "Q", "timeoutSeconds": -5}, "timeoutSeconds"),
    ({"question": "Q", "timeoutSeconds": "60"}, "timeoutSeconds"),
    ({"question": "Q", "timeoutSeconds": 1.5}, "timeoutSeconds"),
    ({"question": "Q", "timeoutSeconds": True}, "timeoutSeconds"),
    ({"question": "Q", "questionType": "poll"}, "questionType"),
    ({"question": "Q", "questionType": 1}, "questionType"),
    ({"question": "Q", "multiSelect": True}, "multiSelect"),
    ({"question": "Q", "multiSelect": True, "choices": []}, "multiSelect"),
    ({"question": "Q", "multiSelect": "yes", "choices": ["a"]}, "multiSelect"),
    ({"question": "Q", "phaseguard": 1}, "phaseguard"),
    ({"question": "Q", "nonBlocking": "true"}, "nonBlocking"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
async def test_bad_input_is_400_with_details_and_stores_nothing(hub, task_and_key, body, field):
    """Each invalid body: 400 VALIDATION_ERROR naming the camelCase field; nothing stored."""
    _, key = task_and_key
    reply = await ask(key, body)
    assert reply.status == status.HTTP_400_BAD_REQUEST
    assert reply.json()["code"] == "VALIDATION_ERROR"
    assert field in reply.json()["details"]
    assert reply.json()["message"]
    assert await count_questions() == 0


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"",
        b"[1, 2]",
        b'"question"',
        b"null",
        b"\xff\xfe{}",
        b'{"question": "Q"',
        b"[" * 100_000,
    ],
)
async def test_malformed_or_non_object_json_is_400(hub, task_and_key, raw):
    """Malformed JSON, or JSON that is not an object: 400 VALIDATION_ERROR, nothing stored."""
    _, key = task_and_key
    reply = await call("POST", ASK_PATH, raw=raw, tool_key=key)
    assert reply.status == status.HTTP_400_BAD_REQUEST
    assert reply.json()["code"] == "VALIDATION_ERROR"
    assert reply.json()["details"]
    assert await count_questions() == 0


async def test_body_over_one_mebibyte_is_413(hub, task_and_key):
    """A body over 1 MiB: 413 PAYLOAD_TOO_LARGE in the error shape, nothing stored."""
    _, key = task_and_key
    raw = json.dumps({"question": "Q", "context": "x" * (1024 * 1024)}).encode()
    reply = await call("POST", ASK_PATH, raw=raw, tool_key=key)
    assert reply.status == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    assert reply.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert reply.headers[b"content-type"] == b"application/json"
    assert await count_questions() == 0


async def test_body_over_one_mebibyte_in_chunks_is_413(hub, task_and_key):
    """A chunked body is counted as it arrives: over 1 MiB is 413 before the end."""
    _, key = task_and_key
    comm = communicator("POST", ASK_PATH, tool_key=key)
    chunk = b"x" * (512 * 1024)
    for _ in range(3):
        await comm.send_input({"type": "http.request", "body": chunk, "more_body": True})
    comm.sent_request = True
    reply = await finish(comm)
    assert reply.status == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


async def test_declared_length_over_one_mebibyte_is_413(hub, task_and_key):
    """A Content-Length over 1 MiB is refused without reading the body."""
    _, key = task_and_key
    reply = await call(
        "POST",
        ASK_PATH,
        body={"question": "Q"},
        tool_key=key,
        headers=[(b"content-length", str(2 * 1024 * 1024).encode())],
    )
    assert reply.status == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


async def test_wrong_method_is_405_in_the_error_shape(hub, task_and_key):
    """GET on the ask path: 405 METHOD_NOT_ALLOWED with an Allow header."""
    _, key = task_and_key
    reply = await call("GET", ASK_PATH, tool_key=key)
    assert reply.status == status.HTTP_405_METHOD_NOT_ALLOWED
    assert reply.json()["code"] == "METHOD_NOT_ALLOWED"
    assert reply.headers[b"allow"] == b"POST"
    assert await count_questions() == 0
