"""Questions cannot pile up: the per-task cap, the bounded list, ttlSeconds' range."""

import pytest
from rest_framework import status

from mesh.models import Question
from tests import factories
from tests.mesh.conftest import ask, in_thread

count_questions = in_thread(lambda: Question.objects.count())


@pytest.mark.django_db(transaction=True)
async def test_the_ask_past_the_per_task_cap_is_429_naming_the_limit(hub, settings, task_and_key):
    settings.MESH_MAX_PENDING_PER_TASK = 2
    _, key = task_and_key
    for _ in range(2):
        await ask(key, {"question": "Room?", "nonBlocking": True})
    reply = await ask(key, {"question": "One more?", "nonBlocking": True})
    assert reply.status == status.HTTP_429_TOO_MANY_REQUESTS
    assert reply.json()["code"] == "TOO_MANY_PENDING"
    assert "2 pending questions" in reply.json()["message"]
    assert await count_questions() == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("ttl", [59, 2592001, "60", 60.5, True, None], ids=repr)
async def test_a_ttl_out_of_range_or_not_an_integer_is_400(hub, task_and_key, ttl):
    _, key = task_and_key
    reply = await ask(key, {"question": "TTL?", "nonBlocking": True, "ttlSeconds": ttl})
    assert reply.status == status.HTTP_400_BAD_REQUEST
    assert reply.json()["code"] == "VALIDATION_ERROR"
    assert "ttlSeconds" in reply.json()["details"]
    assert await count_questions() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("ttl", [60, 2592000])
async def test_the_ttl_range_is_inclusive(hub, task_and_key, ttl):
    _, key = task_and_key
    reply = await ask(key, {"question": "TTL?", "nonBlocking": True, "ttlSeconds": ttl})
    assert reply.status == status.HTTP_200_OK


@pytest.mark.django_db
def test_the_list_returns_the_oldest_up_to_the_limit_with_the_total(api, settings, owner):
    settings.MESH_PENDING_LIST_LIMIT = 3
    directive = factories.make_directive(owner)
    tasks = [factories.make_task(owner, directive)[0] for _ in range(2)]
    asked = [factories.make_question(tasks[n % 2], question=f"q{n}") for n in range(5)]
    response = api.get("/api/v1/mesh/questions")
    assert response.status_code == status.HTTP_200_OK
    assert [item["questionId"] for item in response.json()] == [str(q.id) for q in asked[:3]]
    assert response["X-Total-Count"] == "5"


@pytest.mark.django_db
def test_under_the_limit_the_total_is_the_length(api, task_and_key):
    factories.make_question(task_and_key[0])
    response = api.get("/api/v1/mesh/questions")
    assert response["X-Total-Count"] == "1"
    assert len(response.json()) == 1


@pytest.mark.django_db
def test_the_list_costs_the_same_queries_for_one_item_and_many(
    api, task_and_key, django_assert_max_num_queries
):
    """No N+1: the tasks and directives are joined."""
    factories.make_question(task_and_key[0])
    with django_assert_max_num_queries(8) as one:
        api.get("/api/v1/mesh/questions")
    for _ in range(20):
        factories.make_question(task_and_key[0])
    with django_assert_max_num_queries(len(one.captured_queries)):
        api.get("/api/v1/mesh/questions")
