"""GET /api/v1/mesh/questions (pending list) and GET /api/v1/mesh/questions/{id} (detail)."""

import uuid

from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework import status

from mesh.models import Question
from mesh.questions import services as question_services
from mesh.questions.serializers import PendingQuestionSerializer
from tests import factories

LIST_PATH = "/api/v1/mesh/questions"


def test_lists_pending_questions_oldest_first_as_a_bare_array(api, task_and_key):
    """A bare JSON array (not paginated) of pending questions, oldest first."""
    task, _ = task_and_key
    first = factories.make_question(task, question="first")
    second = factories.make_question(task, question="second")
    reply = api.get(LIST_PATH)
    assert reply.status_code == status.HTTP_200_OK
    body = reply.json()
    assert isinstance(body, list)
    assert [item["questionId"] for item in body] == [str(first.id), str(second.id)]


def test_item_shape_matches_the_contract(api, task_and_key):
    """Each item: questionId, taskId, taskName, directiveId, directiveTitle, question, choices,
    context, createdAt, multiSelect, questionType — and the documented serializer lists the
    same keys."""
    task, _ = task_and_key
    question = factories.make_question(
        task,
        choices=["a", "b"],
        context="ctx",
        multi_select=True,
        question_type="contract_complete",
    )
    item = api.get(LIST_PATH).json()[0]
    assert item == {
        "questionId": str(question.id),
        "taskId": str(task.id),
        "taskName": task.name,
        "directiveId": str(task.directive_id),
        "directiveTitle": task.directive.title,
        "question": "Proceed?",
        "choices": ["a", "b"],
        "context": "ctx",
        "createdAt": item["createdAt"],
        "multiSelect": True,
        "questionType": "contract_complete",
    }
    assert item["createdAt"].endswith("Z")
    documented = {
        "".join(w.capitalize() if i else w for i, w in enumerate(name.split("_")))
        for name in PendingQuestionSerializer().fields
    }
    assert documented == set(item)


def test_directive_id_is_omitted_when_null(api, owner, directive):
    """A question whose directive was deleted has no directiveId key at all."""
    task, _ = factories.make_task(owner, directive)
    factories.make_question(task)
    directive.delete()
    item = api.get(LIST_PATH).json()[0]
    assert "directiveId" not in item
    assert "directiveTitle" not in item


def test_only_the_callers_pending_questions(api, task_and_key, other_owner, owner):
    """Another owner's questions, and answered or withdrawn ones, are not listed."""
    task, _ = task_and_key
    pending = factories.make_question(task)
    answered = factories.make_question(task)
    question_services.question_answer(question_id=answered.id, owner=owner, response="done")
    withdrawn = factories.make_question(task)
    question_services.question_expire(question_id=withdrawn.id)
    other_task, _ = factories.make_task(other_owner, factories.make_directive(other_owner))
    factories.make_question(other_task)
    assert [item["questionId"] for item in api.get(LIST_PATH).json()] == [str(pending.id)]


def test_query_count_does_not_grow_with_the_list(api, task_and_key):
    """One question or twenty: the same number of queries (no N+1)."""
    task, _ = task_and_key
    factories.make_question(task)
    api.get(LIST_PATH)  # the token's last_used_at write happens on the first request only
    with CaptureQueriesContext(connection) as one:
        assert len(api.get(LIST_PATH).json()) == 1
    for _ in range(19):
        factories.make_question(task)
    with CaptureQueriesContext(connection) as twenty:
        assert len(api.get(LIST_PATH).json()) == 20
    assert len(one.captured_queries) == len(twenty.captured_queries) <= 3


def test_tool_key_cannot_list(client_for, task_and_key):
    """A tool key never authenticates the owner list: 401."""
    _, key = task_and_key
    assert client_for(tool_key=key).get(LIST_PATH).status_code == status.HTTP_401_UNAUTHORIZED


def test_session_can_list(client, owner, task_and_key):
    """A signed-in browser session sees the same list."""
    task, _ = task_and_key
    factories.make_question(task)
    client.force_login(owner)
    reply = client.get(LIST_PATH)
    assert reply.status_code == status.HTTP_200_OK
    assert len(reply.json()) == 1


# --- detail ----------------------------------------------------------------------------------
def test_detail_of_a_pending_question(api, task_and_key):
    """The question with status pending and no answer yet."""
    task, _ = task_and_key
    question = factories.make_question(task, choices=["x"])
    body = api.get(f"{LIST_PATH}/{question.id}").json()
    assert body["questionId"] == str(question.id)
    assert body["taskId"] == str(task.id)
    assert body["directiveId"] == str(task.directive_id)
    assert body["status"] == "pending"
    assert body["response"] is None
    assert body["answeredAt"] is None
    assert body["answeredBy"] is None
    assert body["choices"] == ["x"]
    assert body["createdAt"] and body["updatedAt"]


def test_detail_keeps_the_history_after_the_answer(api, task_and_key, owner):
    """After the answer: status answered, the response, answeredAt, answeredBy."""
    task, _ = task_and_key
    question = factories.make_question(task)
    question_services.question_answer(question_id=question.id, owner=owner, response="ok")
    body = api.get(f"{LIST_PATH}/{question.id}").json()
    assert body["status"] == "answered"
    assert body["response"] == "ok"
    assert body["answeredAt"] is not None
    assert body["answeredBy"] == owner.username


def test_detail_of_a_withdrawn_question(api, task_and_key):
    """A withdrawn question stays readable to its owner with status expired."""
    task, _ = task_and_key
    question = factories.make_question(task)
    question_services.question_expire(question_id=question.id)
    assert api.get(f"{LIST_PATH}/{question.id}").json()["status"] == Question.Status.EXPIRED


def test_detail_of_another_owners_question_is_404(other_api, task_and_key):
    """Another owner's question is invisible: 404."""
    task, _ = task_and_key
    question = factories.make_question(task)
    reply = other_api.get(f"{LIST_PATH}/{question.id}")
    assert reply.status_code == status.HTTP_404_NOT_FOUND
    assert reply.json()["code"] == "NOT_FOUND"


def test_detail_with_a_non_uuid_or_unknown_id_is_404(api, db):
    """A malformed or unknown id: 404 in the error shape."""
    assert api.get(f"{LIST_PATH}/zzz").status_code == status.HTTP_404_NOT_FOUND
    assert api.get(f"{LIST_PATH}/{uuid.uuid4()}").status_code == status.HTTP_404_NOT_FOUND


def test_the_pending_list_refuses_other_statuses_pointing_at_the_resource(api, task_and_key):
    """?status=answered (or any value but pending) is 400 VALIDATION_ERROR naming
    /api/v1/questions/, never a silent []."""
    task, _ = task_and_key
    factories.make_question(task)
    for value in ["answered", "expired", "", "pending,answered", "nonsense"]:
        reply = api.get(LIST_PATH, {"status": value})
        assert reply.status_code == status.HTTP_400_BAD_REQUEST, value
        assert reply.json()["code"] == "VALIDATION_ERROR"
        assert "/api/v1/questions/" in reply.json()["message"]
    reply = api.get(LIST_PATH, {"status": ["pending", "answered"]})
    assert reply.status_code == status.HTTP_400_BAD_REQUEST


def test_the_pending_list_with_status_pending_is_unchanged(api, task_and_key):
    task, _ = task_and_key
    factories.make_question(task)
    plain = api.get(LIST_PATH)
    filtered = api.get(LIST_PATH, {"status": "pending"})
    assert filtered.status_code == status.HTTP_200_OK
    assert filtered.json() == plain.json()
    assert filtered["X-Total-Count"] == plain["X-Total-Count"] == "1"
