"""What the asking task hears when its question ends: waiting asks and polls return at once."""

import asyncio
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework import status

from mesh.models import Question
from mesh.questions import services as question_services
from mesh.tasks import services as task_services
from tests import factories
from tests.mesh.conftest import ask, asked_question_id, in_thread, poll

pytestmark = pytest.mark.django_db(transaction=True)

make_question = in_thread(factories.make_question)
decline = in_thread(question_services.question_decline)
cancel = in_thread(question_services.question_cancel)
update_task = in_thread(task_services.task_update)
delete_task = in_thread(task_services.task_delete)


def ended(question_id, status_: str, reason: str | None) -> dict:
    return {
        "questionId": str(question_id),
        "response": None,
        "timedOut": False,
        "stillPending": False,
        "status": status_,
        "reason": reason,
    }


@pytest.fixture
def blocking(settings):
    """Asks and polls that would otherwise wait 10 s."""
    settings.MESH_AUTO_TIMEOUT_SECONDS = 10
    settings.MESH_POLL_WAIT_SECONDS = 10


async def test_decline_returns_the_waiting_ask_at_once(hub, blocking, task_and_key, owner):
    """200, response null, stillPending false, status declined and the owner's reason."""
    _, key = task_and_key
    pending = asyncio.ensure_future(ask(key, {"question": "Deploy?"}, timeout=15))
    question_id = await asked_question_id(hub)
    await decline(question_id=question_id, owner=owner, reason="not on a Friday")
    reply = await asyncio.wait_for(pending, 2)
    assert reply.status == status.HTTP_200_OK
    assert reply.json() == ended(question_id, "declined", "not on a Friday")


async def test_cancel_returns_the_waiting_poll_at_once(hub, blocking, task_and_key):
    task, key = task_and_key
    question = await make_question(task)
    pending = asyncio.ensure_future(poll(key, question.id, timeout=15))
    await asyncio.sleep(0.1)
    await cancel(question_id=question.id, task=task, reason="superseded")
    reply = await asyncio.wait_for(pending, 2)
    assert reply.status == status.HTTP_200_OK
    assert reply.json() == ended(question.id, "cancelled", "superseded")


@pytest.mark.parametrize("settle", ["decline", "cancel"])
async def test_a_poll_of_a_declined_or_cancelled_question_is_200(hub, task_and_key, owner, settle):
    """Not 404: the task learns the outcome on every poll."""
    task, key = task_and_key
    question = await make_question(task)
    if settle == "decline":
        await decline(question_id=question.id, owner=owner, reason="no")
    else:
        await cancel(question_id=question.id, task=task, reason="no")
    reply = await poll(key, question.id)
    assert reply.status == status.HTTP_200_OK
    expected = "declined" if settle == "decline" else "cancelled"
    assert reply.json() == ended(question.id, expected, "no")


async def test_a_poll_of_an_expired_question_stays_404(hub, task_and_key):
    task, key = task_and_key
    question = await make_question(task)
    await in_thread(question_services.question_expire)(question_id=question.id)
    reply = await poll(key, question.id)
    assert reply.status == status.HTTP_404_NOT_FOUND


async def test_a_finished_task_returns_its_waiting_asks(hub, blocking, task_and_key):
    """Task status done: the blocked ask returns cancelled / task finished."""
    task, key = task_and_key
    pending = asyncio.ensure_future(ask(key, {"question": "Still there?"}, timeout=15))
    question_id = await asked_question_id(hub)
    await update_task(task=task, status="done")
    reply = await asyncio.wait_for(pending, 2)
    assert reply.json() == ended(question_id, "cancelled", "task finished")


async def test_a_deleted_task_returns_its_waiting_asks(hub, blocking, task_and_key):
    """The rows go with the task, but the waiter first hears cancelled / task deleted."""
    task, key = task_and_key
    pending = asyncio.ensure_future(ask(key, {"question": "Still there?"}, timeout=15))
    question_id = await asked_question_id(hub)
    await delete_task(task=task)
    reply = await asyncio.wait_for(pending, 2)
    assert reply.status == status.HTTP_200_OK
    assert reply.json() == ended(question_id, "cancelled", "task deleted")


# --- time to live -------------------------------------------------------------------------------
async def test_a_waiting_ask_returns_408_expired_at_its_ttl(hub, settings, task_and_key):
    """Semi-auto would wait 10 s; the 0.2 s time to live ends the wait first."""
    settings.MESH_BLOCK_WAIT_SECONDS = 10
    settings.MESH_QUESTION_TTL_SECONDS = 0.2
    _, key = task_and_key
    reply = await asyncio.wait_for(ask(key, {"question": "Quick?", "phaseguard": True}), 3)
    assert reply.status == status.HTTP_408_REQUEST_TIMEOUT
    body = reply.json()
    assert (body["timedOut"], body["stillPending"], body["status"]) == (True, False, "expired")
    assert body["reason"] == question_services.REASON_TTL
    row = await in_thread(lambda: Question.objects.get(pk=body["questionId"]))()
    assert row.status == Question.Status.EXPIRED


async def test_a_waiting_poll_returns_404_at_its_ttl(hub, blocking, settings, task_and_key):
    settings.MESH_QUESTION_TTL_SECONDS = 0.3
    task, key = task_and_key
    question = await make_question(task)
    reply = await asyncio.wait_for(poll(key, question.id), 3)
    assert reply.status == status.HTTP_404_NOT_FOUND


async def test_a_poll_past_the_ttl_is_404_before_any_sweep(hub, task_and_key):
    task, key = task_and_key
    question = await make_question(task)
    await in_thread(
        lambda: Question.objects.filter(pk=question.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    )()
    reply = await poll(key, question.id)
    assert reply.status == status.HTTP_404_NOT_FOUND
