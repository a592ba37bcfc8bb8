"""POST /api/v1/mesh/questions/{id}/answer and mesh.questions.services.question_answer."""

import threading
import uuid

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from rest_framework import status

from makima_site.errors import ApplicationError
from mesh.models import Question
from mesh.questions import services as question_services
from tests import factories


def answer_path(question_id) -> str:
    return f"/api/v1/mesh/questions/{question_id}/answer"


@pytest.fixture
def question(task_and_key):
    task, _ = task_and_key
    return factories.make_question(task, choices=["yes", "no"])


def test_answer_is_200_success_and_settles_the_row(api, question, owner):
    """The owner's answer: 200 {"success": true}; the row records response, time, who."""
    reply = api.post(answer_path(question.id), {"response": "yes"}, format="json")
    assert reply.status_code == status.HTTP_200_OK
    assert reply.json() == {"success": True}
    question.refresh_from_db()
    assert question.status == Question.Status.ANSWERED
    assert question.response == "yes"
    assert question.answered_by == owner
    assert question.answered_at is not None


def test_another_owners_question_is_403(other_api, question):
    """Answering another owner's question: 403 FORBIDDEN (as the reference), nothing stored."""
    reply = other_api.post(answer_path(question.id), {"response": "mine now"}, format="json")
    assert reply.status_code == status.HTTP_403_FORBIDDEN
    assert reply.json()["code"] == "FORBIDDEN"
    question.refresh_from_db()
    assert question.status == Question.Status.PENDING
    assert question.response is None


def test_unknown_question_is_404(api, db):
    """An unknown id: 404 NOT_FOUND."""
    reply = api.post(answer_path(uuid.uuid4()), {"response": "x"}, format="json")
    assert reply.status_code == status.HTTP_404_NOT_FOUND
    assert reply.json()["code"] == "NOT_FOUND"


def test_withdrawn_question_is_404(api, question):
    """A question withdrawn by the auto timeout cannot be answered: 404."""
    question_services.question_expire(question_id=question.id)
    reply = api.post(answer_path(question.id), {"response": "late"}, format="json")
    assert reply.status_code == status.HTTP_404_NOT_FOUND
    question.refresh_from_db()
    assert question.response is None


def test_non_uuid_id_is_404(api, db):
    """A path id that is not a UUID: 404, not 500."""
    reply = api.post(answer_path("nope"), {"response": "x"}, format="json")
    assert reply.status_code == status.HTTP_404_NOT_FOUND
    assert reply.json()["code"] == "NOT_FOUND"


def test_second_answer_is_409_and_the_first_stands(api, question):
    """Double answer: 409 ALREADY_ANSWERED; the first answer stays."""
    assert (
        api.post(answer_path(question.id), {"response": "first"}, format="json").status_code == 200
    )
    reply = api.post(answer_path(question.id), {"response": "second"}, format="json")
    assert reply.status_code == status.HTTP_409_CONFLICT
    assert reply.json()["code"] == "ALREADY_ANSWERED"
    question.refresh_from_db()
    assert question.response == "first"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"response": ""},
        {"response": "   "},
        {"response": "x" * 10001},
        {"response": 42},
        {"response": None},
        {"response": ["yes"]},
    ],
)
def test_bad_answer_is_400_and_changes_nothing(api, question, body):
    """Empty, oversized, missing or non-string answers: 400 VALIDATION_ERROR with details."""
    reply = api.post(answer_path(question.id), body, format="json")
    assert reply.status_code == status.HTTP_400_BAD_REQUEST
    assert reply.json()["code"] == "VALIDATION_ERROR"
    assert "response" in reply.json()["details"]
    question.refresh_from_db()
    assert question.status == Question.Status.PENDING


def test_malformed_json_is_400_validation_error(api, question):
    """A body that is not JSON: 400 VALIDATION_ERROR with details, nothing changes."""
    reply = api.post(answer_path(question.id), "{oops", content_type="application/json")
    assert reply.status_code == status.HTTP_400_BAD_REQUEST
    assert reply.json()["code"] == "VALIDATION_ERROR"
    assert reply.json()["details"]
    question.refresh_from_db()
    assert question.status == Question.Status.PENDING


def test_tool_key_cannot_answer(client_for, task_and_key, question):
    """A task's tool key never authenticates an owner endpoint: 401."""
    _, key = task_and_key
    reply = client_for(tool_key=key).post(
        answer_path(question.id), {"response": "x"}, format="json"
    )
    assert reply.status_code == status.HTTP_401_UNAUTHORIZED


def test_session_answer_enforces_csrf(owner, question):
    """A browser session can answer, with its CSRF token; without it the answer is refused."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    refused = browser.post(
        answer_path(question.id), {"response": "yes"}, content_type="application/json"
    )
    assert refused.status_code == status.HTTP_403_FORBIDDEN
    token = "csrf" * 8  # any 32-character secret; the header must repeat the cookie's
    browser.cookies[settings.CSRF_COOKIE_NAME] = token
    accepted = browser.post(
        answer_path(question.id),
        {"response": "yes"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert accepted.status_code == status.HTTP_200_OK
    question.refresh_from_db()
    assert question.response == "yes"


def test_service_rejects_an_empty_response(question, owner):
    """question_answer itself refuses a blank response (callers other than the API)."""
    with pytest.raises(ApplicationError) as caught:
        question_services.question_answer(question_id=question.id, owner=owner, response=" ")
    assert caught.value.code == "VALIDATION_ERROR"


@pytest.mark.django_db(transaction=True)
def test_concurrent_answers_have_exactly_one_winner(task_and_key, owner):
    """Eight owners' answers at once (threads): one wins, the rest get 409; one response."""
    task, _ = task_and_key
    question = factories.make_question(task)
    barrier = threading.Barrier(8)
    results: list[str] = []

    def answer(n: int) -> None:
        try:
            barrier.wait()
            question_services.question_answer(
                question_id=question.id, owner=owner, response=f"a{n}"
            )
            results.append("won")
        except ApplicationError as exc:
            results.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=answer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("won") == 1
    assert sorted(set(results)) == ["ALREADY_ANSWERED", "won"]
    question.refresh_from_db()
    assert question.status == Question.Status.ANSWERED
    assert question.response in {f"a{n}" for n in range(8)}
