"""Rate limits on the question endpoints: asks per task (the ask consumer), answers per
owner (the answer view), failed authentications per address (both consumers)."""

import pytest

from mesh.models import Question
from tests import factories
from tests.mesh.conftest import ask, in_thread, poll

pytestmark = pytest.mark.django_db(transaction=True)


count_questions = in_thread(lambda: Question.objects.count())


def assert_throttled(response) -> None:
    assert response.status == 429
    assert response.json()["code"] == "THROTTLED"
    assert response.headers[b"retry-after"] == b"50"


async def test_asks_over_the_tasks_rate_are_429_and_record_nothing(hub, rates, task_and_key):
    """The third ask of a 2/min task is refused before a question is recorded."""
    rates(ask="2/min")
    _, key = task_and_key
    for _ in range(2):
        assert (await ask(key, {"question": "Go?", "nonBlocking": True})).status == 200
    assert_throttled(await ask(key, {"question": "Go?", "nonBlocking": True}))
    assert await count_questions() == 2


async def test_the_ask_rate_is_per_task(hub, rates, owner, directive, task_and_key):
    """One task at its limit leaves another task of the same owner free to ask."""
    rates(ask="1/min")
    _, key = task_and_key
    _, other_key = await in_thread(factories.make_task)(owner, directive)
    await ask(key, {"question": "Go?", "nonBlocking": True})
    assert_throttled(await ask(key, {"question": "Go?", "nonBlocking": True}))
    assert (await ask(other_key, {"question": "Go?", "nonBlocking": True})).status == 200


async def test_failed_tool_keys_are_throttled_per_address(hub, rates, task_and_key):
    """After the limit of 401s, even the right key gets 429 until the window ends."""
    rates(auth_failure="2/min")
    _, key = task_and_key
    for _ in range(2):
        assert (await ask("mtk_nosuchpr_wrong", {"question": "Go?"})).status == 401
    assert_throttled(await poll("mtk_nosuchpr_wrong", "00000000-0000-0000-0000-000000000000"))
    assert_throttled(await ask(key, {"question": "Go?", "nonBlocking": True}))
    assert await count_questions() == 0


async def test_successful_asks_do_not_count_as_failures(hub, rates, task_and_key):
    """Good keys never throttle their address."""
    rates(auth_failure="1/min")
    _, key = task_and_key
    for _ in range(3):
        assert (await ask(key, {"question": "Go?", "nonBlocking": True})).status == 200


def test_answers_over_the_owners_rate_are_429(rates, api, task_and_key):
    """The owner's third answer of a 2/min rate is refused; the question stays pending."""
    rates(answer="2/min")
    task, _ = task_and_key
    questions = [factories.make_question(task) for _ in range(3)]
    for question in questions[:2]:
        url = f"/api/v1/mesh/questions/{question.id}/answer"
        assert api.post(url, {"response": "yes"}, format="json").status_code == 200
    refused = api.post(
        f"/api/v1/mesh/questions/{questions[2].id}/answer", {"response": "yes"}, format="json"
    )
    assert refused.status_code == 429
    assert refused.json()["code"] == "THROTTLED"
    assert refused["Retry-After"] == "50"
    questions[2].refresh_from_db()
    assert questions[2].status == Question.Status.PENDING
