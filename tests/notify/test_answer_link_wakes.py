"""A signed answer link confirmed on a real daphne wakes the task blocked on its ask."""

import re
import threading

import httpx
import pytest

from mesh.models import Question
from notify.links import make_token
from tests.live_daphne import off_thread

pytestmark = pytest.mark.django_db(transaction=True)


def test_confirming_an_answer_link_wakes_a_blocked_ask(daphne_servers, task_and_key):
    task, tool_key = task_and_key
    server = daphne_servers("links", MESH_BLOCK_WAIT_SECONDS="20")
    replies: list[httpx.Response] = []

    def ask() -> None:
        replies.append(
            httpx.post(
                f"{server.base_url}/api/v1/mesh/supervisor/questions",
                headers={"X-Makima-Tool-Key": tool_key},
                json={"question": "Merge?", "choices": ["yes", "no"], "phaseguard": True},
                timeout=30,
            )
        )

    asker = threading.Thread(target=ask)
    asker.start()
    question = None
    for _ in range(200):
        question = off_thread(lambda: Question.objects.filter(task=task).first())
        if question is not None:
            break
        threading.Event().wait(0.05)
    assert question is not None
    with httpx.Client(base_url=server.base_url, timeout=10) as browser:
        url = f"/answer/{make_token(question, '1')}/"
        page = browser.get(url)
        assert page.status_code == 200
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        done = browser.post(url, data={"csrfmiddlewaretoken": csrf})
        assert done.status_code == 200, done.text
    asker.join(10)
    assert replies and replies[0].status_code == 200
    assert replies[0].json()["response"] == "no"
