"""A real daphne killed with SIGKILL mid-wait: the task's retry with its Idempotency-Key finds
the question again and gets the answer given meanwhile; no second question exists."""

import threading
import time

import httpx
import pytest

from mesh.models import Question
from mesh.questions import services as question_services
from tests import factories
from tests.live_daphne import off_thread

ASK = "/api/v1/mesh/supervisor/questions"
BODY = {"question": "Roll back the deploy?"}

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_retry_after_sigkill_and_restart_returns_the_answer(owner, daphne_servers):
    directive = off_thread(factories.make_directive, owner, reconcile_mode="manual")
    _, tool_key = off_thread(factories.make_task, owner, directive)
    server = daphne_servers("restart", MESH_BLOCK_WAIT_SECONDS="60")
    headers = {"X-Makima-Tool-Key": tool_key, "Idempotency-Key": "deploy-42"}
    dropped: dict = {}

    def first_ask() -> None:
        try:
            httpx.post(f"{server.base_url}{ASK}", json=BODY, headers=headers, timeout=30)
        except httpx.HTTPError as exc:
            dropped["error"] = exc

    asker = threading.Thread(target=first_ask)
    asker.start()
    deadline = time.monotonic() + 10
    while not off_thread(lambda: Question.objects.exists()):
        assert time.monotonic() < deadline, "the question never appeared"
        time.sleep(0.05)
    question = off_thread(lambda: Question.objects.get())

    server.process.kill()  # SIGKILL: no shutdown, no reply
    server.process.wait(timeout=10)
    asker.join(timeout=10)
    assert "error" in dropped  # the client never got a reply
    off_thread(
        question_services.question_answer, question_id=question.id, owner=owner, response="yes"
    )
    server.restart()

    retried = httpx.post(f"{server.base_url}{ASK}", json=BODY, headers=headers, timeout=10)
    assert retried.status_code == 200
    assert retried.json()["questionId"] == str(question.id)
    assert retried.json()["response"] == "yes"
    assert off_thread(lambda: Question.objects.count()) == 1
