"""The live feed across server processes: two real daphne processes share PostgreSQL and Redis,
and an event published in one reaches a socket held by the other."""

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.conf import settings
from websockets.sync.client import connect

from tests import factories
from tests.live_daphne import off_thread

pytestmark = [
    pytest.mark.multiprocess,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql"
        or not settings.REDIS_URL,
        reason="needs DATABASE_URL=postgres://… and REDIS_URL: processes share events only "
        "through Redis",
    ),
]

FEED = "/ws/v1/mesh/questions/"


def open_feed(server, token):
    return connect(
        f"{server.ws_url}{FEED}",
        subprotocols=["makima.bearer", token],
        origin=server.base_url,
        open_timeout=10,
    )


def receive(socket) -> dict:
    return json.loads(socket.recv(timeout=10))


def test_answer_on_one_process_reaches_socket_on_another(
    owner, owner_token, task_and_key, daphne_servers
):
    """An answer sent over a socket on process A is announced on a socket held by process B,
    and a question asked elsewhere reaches both."""
    task, _ = task_and_key
    server_a = daphne_servers("a")
    server_b = daphne_servers("b")

    with open_feed(server_a, owner_token) as on_a, open_feed(server_b, owner_token) as on_b:
        assert receive(on_a) == {"type": "snapshot", "questions": [], "total": 0}
        assert receive(on_b) == {"type": "snapshot", "questions": [], "total": 0}

        question = off_thread(factories.make_question, task, question="Cross-process?")
        for socket in (on_a, on_b):
            event = receive(socket)
            assert event["type"] == "question.asked"
            assert event["question"]["questionId"] == str(question.id)

        on_a.send(json.dumps({"type": "answer", "questionId": str(question.id), "response": "ok"}))
        frames_a = {receive(on_a)["type"], receive(on_a)["type"]}
        assert frames_a == {"answer.accepted", "question.answered"}
        answered = receive(on_b)
        assert answered["type"] == "question.answered"
        assert answered["questionId"] == str(question.id)
        assert answered["response"] == "ok"


def test_ask_on_one_process_reaches_socket_on_another(owner_token, task_and_key, daphne_servers):
    """A task's blocking ask on process A appears on the owner's socket held by process B;
    the answer sent over that socket returns to the ask still blocked on A."""
    _, tool_key = task_and_key
    server_a = daphne_servers("a", MESH_AUTO_TIMEOUT_SECONDS="60")
    server_b = daphne_servers("b")

    with open_feed(server_b, owner_token) as on_b, ThreadPoolExecutor(max_workers=1) as pool:
        assert receive(on_b)["type"] == "snapshot"
        asked = pool.submit(
            httpx.post,
            f"{server_a.base_url}/api/v1/mesh/supervisor/questions",
            headers={"X-Makima-Tool-Key": tool_key},
            json={"question": "Across processes?", "choices": ["yes", "no"]},
            timeout=90,
        )
        event = receive(on_b)
        assert event["type"] == "question.asked"
        assert event["question"]["question"] == "Across processes?"
        question_id = event["question"]["questionId"]

        on_b.send(json.dumps({"type": "answer", "questionId": question_id, "response": "yes"}))
        response = asked.result(timeout=30)

    assert response.status_code == 200
    assert response.json()["questionId"] == question_id
    assert response.json()["response"] == "yes"
