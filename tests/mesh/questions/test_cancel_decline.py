"""DELETE /api/v1/mesh/supervisor/questions/{id} (the task) and POST .../decline (the owner)."""

import uuid

import pytest
from rest_framework import status

from mesh.models import Question
from mesh.questions import services as question_services
from tests import factories

pytestmark = pytest.mark.django_db


def cancel_url(question_id) -> str:
    return f"/api/v1/mesh/supervisor/questions/{question_id}"


def decline_url(question_id) -> str:
    return f"/api/v1/mesh/questions/{question_id}/decline"


@pytest.fixture
def task_client(client_for, task_and_key):
    return client_for(tool_key=task_and_key[1])


@pytest.fixture
def question(task_and_key):
    return factories.make_question(task_and_key[0])


def stored(question) -> Question:
    return Question.objects.get(pk=question.pk)


# --- cancel -------------------------------------------------------------------------------------
def test_the_asking_task_cancels_with_a_reason(task_client, question):
    response = task_client.delete(cancel_url(question.id), {"reason": "obsolete"}, format="json")
    assert response.status_code == status.HTTP_200_OK
    assert response.json() == {"questionId": str(question.id), "status": "cancelled"}
    assert (stored(question).status, stored(question).reason) == ("cancelled", "obsolete")


def test_cancel_without_a_body(task_client, question):
    response = task_client.delete(cancel_url(question.id))
    assert response.status_code == status.HTTP_200_OK
    assert stored(question).reason is None


def test_another_tasks_question_is_404_to_cancel(client_for, owner, directive, question):
    _, other_key = factories.make_task(owner, directive)
    response = client_for(tool_key=other_key).delete(cancel_url(question.id))
    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert stored(question).status == "pending"


def test_an_unknown_or_malformed_id_is_404(task_client):
    assert task_client.delete(cancel_url(uuid.uuid4())).status_code == 404
    assert task_client.delete(cancel_url("not-a-uuid")).status_code == 404


def test_cancel_of_a_settled_question_is_409_with_its_status(task_client, question, owner):
    question_services.question_answer(question_id=question.id, owner=owner, response="yes")
    response = task_client.delete(cancel_url(question.id))
    assert response.status_code == status.HTTP_409_CONFLICT
    assert response.json()["code"] == "ALREADY_SETTLED"
    assert response.json()["status"] == "answered"


def test_an_owner_token_cannot_cancel(api, question):
    assert api.delete(cancel_url(question.id)).status_code == status.HTTP_401_UNAUTHORIZED
    assert stored(question).status == "pending"


# --- decline ------------------------------------------------------------------------------------
def test_the_owner_declines_with_a_reason(api, question, owner):
    response = api.post(decline_url(question.id), {"reason": "ask Bob"}, format="json")
    assert response.status_code == status.HTTP_200_OK
    assert response.json() == {"success": True}
    row = stored(question)
    assert (row.status, row.reason, row.settled_by) == ("declined", "ask Bob", owner)


def test_decline_without_a_body(api, question):
    assert api.post(decline_url(question.id)).status_code == status.HTTP_200_OK
    assert stored(question).status == "declined"


def test_another_owners_question_is_403_to_decline(other_api, question):
    response = other_api.post(decline_url(question.id), {"reason": "x"}, format="json")
    assert response.status_code == status.HTTP_403_FORBIDDEN
    assert response.json()["code"] == "FORBIDDEN"
    assert stored(question).status == "pending"


def test_decline_of_an_unknown_or_expired_question_is_404(api, question):
    assert api.post(decline_url(uuid.uuid4())).status_code == status.HTTP_404_NOT_FOUND
    question_services.question_expire(question_id=question.id)
    assert api.post(decline_url(question.id)).status_code == status.HTTP_404_NOT_FOUND


def test_decline_of_a_settled_question_is_409(api, question):
    api.post(decline_url(question.id))
    response = api.post(decline_url(question.id))
    assert response.status_code == status.HTTP_409_CONFLICT
    assert (response.json()["code"], response.json()["status"]) == ("ALREADY_SETTLED", "declined")


def test_answer_of_a_declined_question_is_409_already_settled(api, question):
    api.post(decline_url(question.id))
    url = f"/api/v1/mesh/questions/{question.id}/answer"
    response = api.post(url, {"response": "late"}, format="json")
    assert response.status_code == status.HTTP_409_CONFLICT
    assert response.json()["code"] == "ALREADY_SETTLED"
    assert stored(question).response is None


def test_the_detail_shows_the_lifecycle_fields(api, question):
    api.post(decline_url(question.id), {"reason": "no"}, format="json")
    body = api.get(f"/api/v1/mesh/questions/{question.id}").json()
    assert body["status"] == "declined"
    assert body["reason"] == "no"
    assert body["response"] is None
    assert body["settledAt"] is not None
    assert body["expiresAt"] is not None


# --- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize("reason", ["x" * 2001, 7, ["a"]], ids=["too long", "int", "list"])
def test_a_bad_reason_is_400_and_changes_nothing(api, task_client, question, reason):
    for response in (
        api.post(decline_url(question.id), {"reason": reason}, format="json"),
        task_client.delete(cancel_url(question.id), {"reason": reason}, format="json"),
    ):
        assert response.status_code == status.HTTP_400_BAD_REQUEST
        assert response.json()["code"] == "VALIDATION_ERROR"
        assert "reason" in response.json()["details"]
    assert stored(question).status == "pending"


def test_a_reason_of_2000_characters_is_accepted(api, question):
    response = api.post(decline_url(question.id), {"reason": "r" * 2000}, format="json")
    assert response.status_code == status.HTTP_200_OK
