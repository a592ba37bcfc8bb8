"""The feed and the question lifecycle: decline frames, settlement events, bounded frames."""

import json

import pytest

from mesh.feed.consumers import MAX_SERVER_FRAME_BYTES
from mesh.models import Question
from mesh.questions import services as question_services
from tests import factories
from tests.mesh.conftest import in_thread

pytestmark = pytest.mark.django_db(transaction=True)

ask = in_thread(factories.make_question)
EMOJI = "😀"  # 4 bytes in UTF-8; "\ud83d\ude00" (12) with ASCII escaping


@in_thread
def stored(question) -> Question:
    return Question.objects.get(pk=question.pk)


async def test_a_decline_frame_declines_and_is_accepted(owner_socket, task_and_key):
    task, _ = task_and_key
    question = await ask(task)
    await owner_socket.receive_json_from()  # question.asked
    await owner_socket.send_json_to(
        {"type": "decline", "questionId": str(question.id), "reason": "not mine"}
    )
    frames = [await owner_socket.receive_json_from() for _ in range(2)]
    by_type = {frame["type"]: frame for frame in frames}
    assert by_type["decline.accepted"]["questionId"] == str(question.id)
    assert by_type["decline.accepted"]["settledAt"]
    assert by_type["question.declined"] == {
        "type": "question.declined",
        "questionId": str(question.id),
        "status": "declined",
        "reason": "not mine",
    }
    row = await stored(question)
    assert (row.status, row.reason) == ("declined", "not mine")


async def test_declining_another_owners_question_is_a_forbidden_frame(
    sockets, other_token, task_and_key
):
    task, _ = task_and_key
    question = await ask(task)
    socket, _, _ = await sockets(subprotocols=["makima.bearer", other_token])
    await socket.receive_json_from()
    await socket.send_json_to({"type": "decline", "questionId": str(question.id)})
    frame = await socket.receive_json_from()
    assert (frame["type"], frame["code"]) == ("error", "FORBIDDEN")
    assert (await stored(question)).status == "pending"


async def test_a_too_long_reason_is_a_validation_error_frame(owner_socket, task_and_key):
    task, _ = task_and_key
    question = await ask(task)
    await owner_socket.receive_json_from()
    await owner_socket.send_json_to(
        {"type": "decline", "questionId": str(question.id), "reason": "r" * 2001}
    )
    frame = await owner_socket.receive_json_from()
    assert (frame["type"], frame["code"]) == ("error", "VALIDATION_ERROR")
    assert (await stored(question)).status == "pending"


async def test_a_decline_of_a_settled_question_is_already_settled(owner_socket, task_and_key):
    task, _ = task_and_key
    question = await ask(task)
    await owner_socket.receive_json_from()
    await in_thread(question_services.question_cancel)(question_id=question.id, task=task)
    await owner_socket.receive_json_from()  # question.cancelled
    await owner_socket.send_json_to({"type": "decline", "questionId": str(question.id)})
    frame = await owner_socket.receive_json_from()
    assert (frame["code"], frame["questionId"]) == ("ALREADY_SETTLED", str(question.id))


async def test_a_cancel_reaches_every_open_page_as_question_cancelled(owner_socket, task_and_key):
    task, _ = task_and_key
    question = await ask(task)
    await owner_socket.receive_json_from()
    await in_thread(question_services.question_cancel)(
        question_id=question.id, task=task, reason="done without you"
    )
    assert await owner_socket.receive_json_from() == {
        "type": "question.cancelled",
        "questionId": str(question.id),
        "status": "cancelled",
        "reason": "done without you",
    }


async def test_the_sweep_publishes_question_expired(owner_socket, task_and_key):
    task, _ = task_and_key
    question = await ask(task)
    await owner_socket.receive_json_from()
    await in_thread(
        lambda: Question.objects.filter(pk=question.pk).update(expires_at="2000-01-01T00:00Z")
    )()
    assert await in_thread(question_services.question_expire_due)() == 1
    assert await owner_socket.receive_json_from() == {
        "type": "question.expired",
        "questionId": str(question.id),
        "status": "expired",
        "reason": question_services.REASON_TTL,
    }


# --- bounded frames -----------------------------------------------------------------------------
@in_thread
def fill_with_four_byte_questions(owner, count: int) -> None:
    """Questions as large as the bounds allow, every character 4 bytes in UTF-8."""
    directive = factories.make_directive(owner)
    task, _ = factories.make_task(owner, directive)
    for n in range(count):
        factories.make_question(
            task,
            question=f"{n} " + EMOJI * 3990,
            choices=[f"{c} " + EMOJI * 490 for c in range(50)],
            context=EMOJI * 20000,
        )


async def test_the_snapshot_stays_under_256_kib_whatever_the_questions_hold(
    sockets, owner, owner_token
):
    """Frames are UTF-8 without ASCII escaping, contexts are cut, and the snapshot stops
    adding questions before 256 KiB; `total` still counts them all."""
    await fill_with_four_byte_questions(owner, 3)
    socket, _, _ = await sockets(subprotocols=["makima.bearer", owner_token])
    raw = await socket.receive_from()
    assert len(raw.encode("utf-8")) <= MAX_SERVER_FRAME_BYTES
    assert "\\ud83d" not in raw and EMOJI in raw
    snapshot = json.loads(raw)
    assert snapshot["total"] == 3
    assert 1 <= len(snapshot["questions"]) < 3
    first = snapshot["questions"][0]
    assert (len(first["context"]), first["contextTruncated"]) == (2000, True)


async def test_a_push_of_the_largest_question_fits_in_a_frame(owner_socket, owner):
    await fill_with_four_byte_questions(owner, 1)
    raw = await owner_socket.receive_from()
    assert len(raw.encode("utf-8")) <= MAX_SERVER_FRAME_BYTES
    event = json.loads(raw)
    assert event["type"] == "question.asked"
    assert event["question"]["contextTruncated"] is True


async def test_the_snapshot_sends_at_most_100_questions_and_the_total(
    sockets, owner, owner_token, settings
):
    settings.MESH_MAX_PENDING_PER_TASK = 200

    @in_thread
    def many() -> None:
        task, _ = factories.make_task(owner, factories.make_directive(owner))
        for n in range(105):
            factories.make_question(task, question=f"q{n}")

    await many()
    socket, _, _ = await sockets(subprotocols=["makima.bearer", owner_token])
    snapshot = await socket.receive_json_from()
    assert len(snapshot["questions"]) == 100
    assert snapshot["total"] == 105
    assert snapshot["questions"][0]["question"] == "q0"
