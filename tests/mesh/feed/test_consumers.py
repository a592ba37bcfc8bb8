"""The owners' live feed websocket (mesh/feed/, mesh/credentials/websocket.py) through the
real ASGI app."""

import json
import uuid

import pytest
from django.conf import settings as django_settings
from django.test import Client

from mesh.credentials import services as credential_services
from mesh.feed import consumers as feed_consumers
from mesh.models import MAX_RESPONSE_LENGTH, Question
from mesh.questions import services as question_services
from mesh.questions.events import pending_question_item
from tests import factories
from tests.mesh.conftest import in_thread
from tests.mesh.feed.conftest import PATH

pytestmark = pytest.mark.django_db(transaction=True)


ask = in_thread(factories.make_question)


@in_thread
def answer_by_service(question, owner, response="yes"):
    return question_services.question_answer(
        question_id=question.id, owner=owner, response=response
    )


@in_thread
def reload(question):
    return Question.objects.get(pk=question.pk)


async def assert_refused(communicator, connected):
    """Accepted only to carry the close code: the very next output is a 4401 close."""
    assert connected
    output = await communicator.receive_output()
    assert output == {"type": "websocket.close", "code": feed_consumers.CLOSE_UNAUTHORIZED}


# --- Authentication -------------------------------------------------------------------------
async def test_session_cookie_authenticates(sockets, owner, session_cookie):
    """A browser's session cookie opens the feed and yields the snapshot."""
    cookie = await session_cookie(owner)
    communicator, connected, subprotocol = await sockets(headers=[cookie])
    assert connected
    assert subprotocol is None
    assert await communicator.receive_json_from() == {
        "type": "snapshot",
        "questions": [],
        "total": 0,
    }


async def test_token_subprotocol_authenticates_and_is_echoed(sockets, owner_token):
    """An owner token offered as ["makima.bearer", token] opens the feed; only the name echoes."""
    communicator, connected, subprotocol = await sockets(
        subprotocols=["makima.bearer", owner_token]
    )
    assert connected
    assert subprotocol == "makima.bearer"
    assert (await communicator.receive_json_from())["type"] == "snapshot"


async def test_no_credentials_closed_4401(sockets):
    """A socket with neither session nor token is closed with 4401 before any data."""
    communicator, connected, _ = await sockets()
    await assert_refused(communicator, connected)


async def test_tool_key_as_token_closed_4401(sockets, task_and_key):
    """A task's tool key offered as the bearer token is refused with 4401."""
    _, tool_key = task_and_key
    communicator, connected, subprotocol = await sockets(subprotocols=["makima.bearer", tool_key])
    assert subprotocol == "makima.bearer"
    await assert_refused(communicator, connected)


async def test_tool_key_header_refused_even_with_session(
    sockets, owner, session_cookie, task_and_key
):
    """A tool key header beside a valid session is refused: tool keys never open the feed."""
    _, tool_key = task_and_key
    headers = [await session_cookie(owner), (b"x-makima-tool-key", tool_key.encode())]
    communicator, connected, _ = await sockets(headers=headers)
    await assert_refused(communicator, connected)


async def test_revoked_token_closed_4401(sockets, owner):
    """A revoked owner token is refused with 4401."""
    token, raw = await in_thread(credential_services.api_token_create)(owner=owner)
    await in_thread(credential_services.api_token_revoke)(token=token)
    communicator, connected, _ = await sockets(subprotocols=["makima.bearer", raw])
    await assert_refused(communicator, connected)


@pytest.mark.parametrize(
    "subprotocols", [["makima.bearer"], ["makima.bearer", "mkt_deadbeef_nope"]], ids=str
)
async def test_bad_or_missing_token_closed_4401(sockets, subprotocols):
    """An unknown token, or the subprotocol name without a token, is refused with 4401."""
    communicator, connected, _ = await sockets(subprotocols=subprotocols)
    await assert_refused(communicator, connected)


async def test_failed_token_does_not_fall_back_to_session(
    sockets, owner, session_cookie, other_token
):
    """An offered token that fails refuses the socket even when a session cookie is valid."""
    headers = [await session_cookie(owner)]
    communicator, connected, _ = await sockets(
        headers=headers, subprotocols=["makima.bearer", other_token + "x"]
    )
    await assert_refused(communicator, connected)


async def test_token_in_query_string_is_ignored(sockets, owner_token):
    """A token in the query string authenticates nothing (it would land in logs)."""
    communicator, connected, _ = await sockets(path=f"{PATH}?token={owner_token}")
    await assert_refused(communicator, connected)


async def test_inactive_owner_token_closed_4401(sockets, owner, owner_token):
    """A deactivated owner's token is refused."""
    owner.is_active = False
    await in_thread(owner.save)()
    communicator, connected, _ = await sockets(subprotocols=["makima.bearer", owner_token])
    await assert_refused(communicator, connected)


async def test_foreign_origin_refused(sockets, owner, session_cookie):
    """A page on another origin cannot open the feed with the victim's cookie."""
    communicator, connected, _ = await sockets(
        headers=[await session_cookie(owner)], origin=(b"origin", b"http://evil.example")
    )
    assert not connected


# --- Snapshot and events --------------------------------------------------------------------
async def test_snapshot_lists_only_own_pending_questions(
    sockets, owner, owner_token, other_owner, task_and_key
):
    """The snapshot holds the owner's pending questions, oldest first, in the list shape plus
    expiresAt (the page's countdown)."""
    task, _ = task_and_key
    first = await ask(task, question="First?", choices=["a", "b"], context="ctx")
    second = await ask(task, question="Second?", multi_select=True)
    answered = await ask(task, question="Done?")
    await answer_by_service(answered, owner)
    other_task, _ = await in_thread(factories.make_task)(
        other_owner, await in_thread(factories.make_directive)(other_owner)
    )
    await ask(other_task, question="Not yours")

    communicator, _, _ = await sockets(subprotocols=["makima.bearer", owner_token])
    snapshot = await communicator.receive_json_from()

    assert snapshot["type"] == "snapshot"
    assert [item["questionId"] for item in snapshot["questions"]] == [
        str(first.id),
        str(second.id),
    ]
    assert snapshot["questions"][0] == {
        "questionId": str(first.id),
        "taskId": str(task.id),
        "taskName": task.name,
        "directiveId": str(task.directive_id),
        "directiveTitle": task.directive.title,
        "question": "First?",
        "choices": ["a", "b"],
        "context": "ctx",
        "createdAt": first.created_at.isoformat().replace("+00:00", "Z"),
        "multiSelect": False,
        "questionType": "general",
        "expiresAt": first.expires_at.isoformat().replace("+00:00", "Z"),
    }
    assert snapshot["questions"][1]["multiSelect"] is True


async def test_question_asked_while_connecting_is_not_missed(
    sockets, owner_token, task_and_key, monkeypatch
):
    """A question asked between joining the group and reading the snapshot still arrives."""
    task, _ = task_and_key
    read_snapshot = feed_consumers.pending_items
    asked = []

    async def ask_then_read(owner):
        asked.append(await in_thread(factories.make_question)(task, question="Mid-connect?"))
        return await read_snapshot(owner)

    monkeypatch.setattr(feed_consumers, "pending_items", ask_then_read)
    communicator, _, _ = await sockets(subprotocols=["makima.bearer", owner_token])
    snapshot = await communicator.receive_json_from()
    event = await communicator.receive_json_from()
    assert [item["questionId"] for item in snapshot["questions"]] == [str(asked[0].id)]
    assert event["type"] == "question.asked"
    assert event["question"]["questionId"] == str(asked[0].id)


async def test_asked_event_reaches_the_owner(owner_socket, task_and_key):
    """A new question arrives as question.asked with the list item shape."""
    task, _ = task_and_key
    question = await ask(task, question="Deploy?", choices=["yes", "no"])
    event = await owner_socket.receive_json_from()
    assert event == {
        "type": "question.asked",
        "question": await in_thread(
            lambda: pending_question_item(Question.objects.get(pk=question.pk))
        )(),
    }
    assert event["question"]["taskName"] == task.name


async def test_answered_event_reaches_the_owner(owner_socket, owner, task_and_key):
    """An answer given elsewhere (REST, another tab) arrives as question.answered."""
    task, _ = task_and_key
    question = await ask(task)
    await owner_socket.receive_json_from()
    await answer_by_service(question, owner, "ship it")
    event = await owner_socket.receive_json_from()
    stored = await reload(question)
    assert event == {
        "type": "question.answered",
        "questionId": str(question.id),
        "response": "ship it",
        "answeredAt": stored.answered_at.isoformat().replace("+00:00", "Z"),
    }


async def test_expired_event_reaches_the_owner(owner_socket, task_and_key):
    """A withdrawn question arrives as question.expired with its status and reason."""
    task, _ = task_and_key
    question = await ask(task)
    await owner_socket.receive_json_from()
    await in_thread(question_services.question_expire)(question_id=question.id)
    assert await owner_socket.receive_json_from() == {
        "type": "question.expired",
        "questionId": str(question.id),
        "status": "expired",
        "reason": question_services.REASON_TIMED_OUT,
    }


async def test_every_socket_of_the_owner_hears_events(
    sockets, owner_socket, owner, session_cookie, task_and_key
):
    """Two tabs of one owner (token and session) both hear a new question."""
    second, _, _ = await sockets(headers=[await session_cookie(owner)])
    await second.receive_json_from()
    task, _ = task_and_key
    question = await ask(task)
    for communicator in (owner_socket, second):
        event = await communicator.receive_json_from()
        assert event["question"]["questionId"] == str(question.id)


async def test_other_owner_receives_nothing(sockets, owner_socket, other_token, task_and_key):
    """Another owner's socket hears none of this owner's events."""
    other, _, _ = await sockets(subprotocols=["makima.bearer", other_token])
    assert (await other.receive_json_from())["questions"] == []
    task, _ = task_and_key
    question = await ask(task)
    await in_thread(question_services.question_expire)(question_id=question.id)
    assert (await owner_socket.receive_json_from())["type"] == "question.asked"
    assert (await owner_socket.receive_json_from())["type"] == "question.expired"
    assert await other.receive_nothing(timeout=0.2)


# --- Answering over the socket --------------------------------------------------------------
async def test_answer_over_socket(owner_socket, owner, task_and_key):
    """An answer frame answers through the service: answer.accepted, then the event."""
    task, _ = task_and_key
    question = await ask(task, choices=["yes", "no"])
    await owner_socket.receive_json_from()
    await owner_socket.send_json_to(
        {"type": "answer", "questionId": str(question.id), "response": "yes"}
    )
    frames = [await owner_socket.receive_json_from(), await owner_socket.receive_json_from()]
    stored = await reload(question)
    answered_at = stored.answered_at.isoformat().replace("+00:00", "Z")
    assert stored.status == Question.Status.ANSWERED
    assert stored.response == "yes"
    assert stored.answered_by_id == owner.pk
    assert sorted(frames, key=lambda frame: frame["type"]) == [
        {"type": "answer.accepted", "questionId": str(question.id), "answeredAt": answered_at},
        {
            "type": "question.answered",
            "questionId": str(question.id),
            "response": "yes",
            "answeredAt": answered_at,
        },
    ]


async def send_answer(communicator, question_id, response="yes"):
    await communicator.send_json_to(
        {"type": "answer", "questionId": question_id, "response": response}
    )
    return await communicator.receive_json_from()


async def test_answer_unknown_question_is_not_found(owner_socket):
    """Answering an unknown question id gives NOT_FOUND with the id."""
    missing = str(uuid.uuid4())
    frame = await send_answer(owner_socket, missing)
    assert frame == {
        "type": "error",
        "code": "NOT_FOUND",
        "message": "Question not found.",
        "questionId": missing,
    }


async def test_answer_other_owners_question_is_forbidden(owner_socket, other_owner):
    """Answering another owner's question gives FORBIDDEN and changes nothing."""
    directive = await in_thread(factories.make_directive)(other_owner)
    other_task, _ = await in_thread(factories.make_task)(other_owner, directive)
    question = await ask(other_task)
    frame = await send_answer(owner_socket, str(question.id))
    assert (frame["type"], frame["code"], frame["questionId"]) == (
        "error",
        "FORBIDDEN",
        str(question.id),
    )
    assert (await reload(question)).status == Question.Status.PENDING


async def test_answer_already_answered_is_conflict(owner_socket, owner, task_and_key):
    """A second answer gives ALREADY_ANSWERED; the first answer stands."""
    task, _ = task_and_key
    question = await ask(task)
    await owner_socket.receive_json_from()
    await answer_by_service(question, owner, "first")
    await owner_socket.receive_json_from()
    frame = await send_answer(owner_socket, str(question.id), "second")
    assert (frame["code"], frame["questionId"]) == ("ALREADY_ANSWERED", str(question.id))
    assert (await reload(question)).response == "first"


async def test_answer_expired_question_is_not_found(owner_socket, task_and_key):
    """A withdrawn question cannot be answered: NOT_FOUND."""
    task, _ = task_and_key
    question = await ask(task)
    await owner_socket.receive_json_from()
    await in_thread(question_services.question_expire)(question_id=question.id)
    await owner_socket.receive_json_from()
    frame = await send_answer(owner_socket, str(question.id))
    assert frame["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("response", "message"),
    [
        ("   ", "response: This field may not be blank."),
        (
            "x" * (MAX_RESPONSE_LENGTH + 1),
            "response: Ensure this field has no more than 10000 characters.",
        ),
        (42, "response: Must be a string."),
        (None, "response: This field is required."),
    ],
    ids=["blank", "too-long", "number", "missing"],
)
async def test_answer_bad_response_is_validation_error(
    owner_socket, task_and_key, response, message
):
    """A blank, oversized or non-string response gives VALIDATION_ERROR and changes nothing."""
    task, _ = task_and_key
    question = await ask(task)
    await owner_socket.receive_json_from()
    frame = {"type": "answer", "questionId": str(question.id)}
    if response is not None:
        frame["response"] = response
    await owner_socket.send_json_to(frame)
    error = await owner_socket.receive_json_from()
    assert (error["type"], error["code"], error["message"], error["questionId"]) == (
        "error",
        "VALIDATION_ERROR",
        message,
        str(question.id),
    )
    assert (await reload(question)).status == Question.Status.PENDING


@pytest.mark.parametrize(
    ("question_id", "echoed"), [(None, None), ("not-a-uuid", "not-a-uuid"), (7, None)]
)
async def test_answer_bad_question_id_is_validation_error(owner_socket, question_id, echoed):
    """A missing or malformed questionId gives VALIDATION_ERROR."""
    frame = {"type": "answer", "response": "yes"}
    if question_id is not None:
        frame["questionId"] = question_id
    await owner_socket.send_json_to(frame)
    error = await owner_socket.receive_json_from()
    assert (error["code"], error["questionId"]) == ("VALIDATION_ERROR", echoed)


# --- Ping, malformed frames, limits ---------------------------------------------------------
async def test_ping_pong(owner_socket):
    """{"type": "ping"} is answered with {"type": "pong"}."""
    await owner_socket.send_json_to({"type": "ping"})
    assert await owner_socket.receive_json_from() == {"type": "pong"}


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ("not json", "MALFORMED_FRAME"),
        ("[1, 2]", "MALFORMED_FRAME"),
        ('"ping"', "MALFORMED_FRAME"),
        ('{"questionId": "x"}', "MALFORMED_FRAME"),
        ('{"type": "subscribe"}', "UNKNOWN_TYPE"),
        ('{"type": null}', "UNKNOWN_TYPE"),
        (b"\x00\x01binary", "MALFORMED_FRAME"),
        ("[" * 60000, "MALFORMED_FRAME"),
    ],
    ids=["not-json", "array", "string", "no-type", "unknown-type", "null-type", "binary", "deep"],
)
async def test_malformed_frame_gets_error_and_socket_stays_open(owner_socket, payload, code):
    """A malformed frame gets an error frame; the socket keeps working."""
    if isinstance(payload, bytes):
        await owner_socket.send_to(bytes_data=payload)
    else:
        await owner_socket.send_to(text_data=payload)
    error = await owner_socket.receive_json_from()
    assert (error["type"], error["code"], error["questionId"]) == ("error", code, None)
    assert error["message"]
    await owner_socket.send_json_to({"type": "ping"})
    assert await owner_socket.receive_json_from() == {"type": "pong"}


async def test_oversized_frame_gets_frame_too_large(owner_socket):
    """A frame over 64 KiB gets FRAME_TOO_LARGE; one at the limit is read normally."""
    assert django_settings.MESH_WS_MAX_FRAME_BYTES == 64 * 1024
    # Two-byte characters: 65,536 bytes of UTF-8 but only about 32,800 characters.
    envelope = len(json.dumps({"type": "ping", "pad": ""}))
    padding = "é" * ((65536 - envelope) // 2) + "x" * ((65536 - envelope) % 2)
    at_limit = json.dumps({"type": "ping", "pad": padding}, ensure_ascii=False)
    assert len(at_limit.encode()) == 65536
    await owner_socket.send_to(text_data=at_limit)
    assert await owner_socket.receive_json_from() == {"type": "pong"}
    await owner_socket.send_to(text_data=at_limit.replace('"pad": "', '"pad": "xx'))
    error = await owner_socket.receive_json_from()
    assert error["code"] == "FRAME_TOO_LARGE"
    await owner_socket.send_to(bytes_data=b"x" * (65536 + 1))
    assert (await owner_socket.receive_json_from())["code"] == "FRAME_TOO_LARGE"


async def test_flooding_socket_closed_4429(sockets, owner_token, settings):
    """More than rate × window frames within the window closes the socket with 4429."""
    # At most 5 frames a second: a window long enough that a loaded machine still handles
    # the 6 frames within it, and the test never waits for it to pass.
    settings.MESH_WS_RATE_PER_SECOND = 5
    settings.MESH_WS_RATE_WINDOW_SECONDS = 1
    communicator, _, _ = await sockets(subprotocols=["makima.bearer", owner_token])
    await communicator.receive_json_from()
    for _ in range(6):
        await communicator.send_json_to({"type": "ping"})
    for _ in range(5):
        assert await communicator.receive_json_from() == {"type": "pong"}
    error = await communicator.receive_json_from()
    assert error["code"] == "RATE_LIMITED"
    assert await communicator.receive_output() == {
        "type": "websocket.close",
        "code": feed_consumers.CLOSE_RATE_LIMITED,
    }


async def test_steady_socket_under_the_rate_stays_open(sockets, owner_token, settings):
    """Frames spread out below the rate never trip the limit."""
    settings.MESH_WS_RATE_PER_SECOND = 20
    settings.MESH_WS_RATE_WINDOW_SECONDS = 0.1  # at most 2 frames per 0.1 s
    communicator, _, _ = await sockets(subprotocols=["makima.bearer", owner_token])
    await communicator.receive_json_from()
    for _ in range(3):
        await communicator.send_json_to({"type": "ping"})
        await communicator.send_json_to({"type": "ping"})
        assert await communicator.receive_json_from() == {"type": "pong"}
        assert await communicator.receive_json_from() == {"type": "pong"}
        assert await communicator.receive_nothing(timeout=0.11)


# --- a socket ends with its credential ---------------------------------------------------------
async def test_revoking_the_token_closes_its_sockets_4401(sockets, owner):
    """A revoked token's sockets close at once; the owner's other sockets stay open."""
    revoked_raw = await in_thread(factories.make_token)(owner)
    kept_raw = await in_thread(factories.make_token)(owner)
    revoked_socket, _, _ = await sockets(subprotocols=["makima.bearer", revoked_raw])
    kept_socket, _, _ = await sockets(subprotocols=["makima.bearer", kept_raw])
    for communicator in (revoked_socket, kept_socket):
        assert (await communicator.receive_json_from())["type"] == "snapshot"

    @in_thread
    def revoke():
        token = owner.api_tokens.get(prefix=revoked_raw.split("_")[1])
        credential_services.api_token_revoke(token=token)

    await revoke()
    assert await revoked_socket.receive_output() == {"type": "websocket.close", "code": 4401}
    await kept_socket.send_json_to({"type": "ping"})
    assert await kept_socket.receive_json_from() == {"type": "pong"}


async def test_logging_out_closes_the_sessions_sockets_4401(sockets, owner, other_token):
    client = Client()
    await in_thread(client.force_login)(owner)
    session_id = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    cookie = (b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={session_id}".encode())
    session_socket, connected, _ = await sockets(headers=[cookie])
    assert connected
    other_socket, _, _ = await sockets(subprotocols=["makima.bearer", other_token])
    for communicator in (session_socket, other_socket):
        assert (await communicator.receive_json_from())["type"] == "snapshot"
    response = await in_thread(client.post)("/accounts/logout/")
    assert response.status_code == 302
    assert await session_socket.receive_output() == {"type": "websocket.close", "code": 4401}
    assert await other_socket.receive_nothing(timeout=0.2)
