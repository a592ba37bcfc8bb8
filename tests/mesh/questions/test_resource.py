"""GET /api/v1/questions/ (the owner's questions of every status), one question, and its
answer/ and decline/ actions (mesh/questions/resource.py, filters.py)."""

import asyncio
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework import status

from mesh.models import Question
from mesh.questions import services as question_services
from tests import factories
from tests.mesh.conftest import ask, asked_question_id, call

LIST = "/api/v1/questions/"

ITEM_KEYS = {
    "id",
    "taskId",
    "taskName",
    "directiveId",
    "directiveTitle",
    "question",
    "choices",
    "context",
    "questionType",
    "multiSelect",
    "phaseguard",
    "nonBlocking",
    "status",
    "response",
    "reason",
    "createdAt",
    "expiresAt",
    "settledAt",
    "settledBy",
    "waitSeconds",
}


def detail(question) -> str:
    return f"{LIST}{question.id}/"


@pytest.fixture
def history(owner, task_and_key):
    """Five questions, one per status, asked a day apart (Alpha oldest); Echo is pending in
    the row but past its time to live."""
    task, _ = task_and_key
    now = timezone.now()
    names = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"]
    made = {}
    for days_ago, name in zip(range(6, 0, -1), names, strict=True):
        made[name] = factories.make_question(
            task,
            question=f"{name} question?",
            context=f"context of {name.lower()}",
            question_type="contract_complete" if name == "Bravo" else "general",
        )
        Question.objects.filter(pk=made[name].pk).update(created_at=now - timedelta(days=days_ago))
    question_services.question_answer(question_id=made["Alpha"].id, owner=owner, response="yes")
    question_services.question_decline(question_id=made["Bravo"].id, owner=owner, reason="no")
    question_services.question_cancel(question_id=made["Charlie"].id, task=task)
    question_services.question_expire(question_id=made["Delta"].id)
    Question.objects.filter(pk=made["Echo"].pk).update(expires_at=now - timedelta(seconds=1))
    # Settled at distinct instants, in the order Delta, Bravo, Alpha, Charlie.
    for hours_ago, name in [(4, "Delta"), (3, "Bravo"), (2, "Alpha"), (1, "Charlie")]:
        Question.objects.filter(pk=made[name].pk).update(
            settled_at=now - timedelta(hours=hours_ago)
        )
    return made


def names(response) -> list[str]:
    assert response.status_code == status.HTTP_200_OK, response.json()
    return [item["question"].split()[0] for item in response.json()["results"]]


def assert_validation_error(response, field: str) -> None:
    assert response.status_code == status.HTTP_400_BAD_REQUEST, response.json()
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert field in body["details"]


# --- the list ------------------------------------------------------------------------------------
def test_lists_every_status_newest_first_paginated(api, history):
    """count/next/previous/results, all statuses, newest first."""
    body = api.get(LIST).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 6
    assert names(api.get(LIST)) == ["Foxtrot", "Echo", "Delta", "Charlie", "Bravo", "Alpha"]


def test_item_has_exactly_the_contract_fields(api, owner, history, directive):
    """An answered item: every field, settledBy the username, waitSeconds settled − created."""
    item = api.get(detail(history["Alpha"])).json()
    assert set(item) == ITEM_KEYS
    row = Question.objects.get(pk=history["Alpha"].pk)
    assert item["status"] == "answered"
    assert item["response"] == "yes"
    assert item["settledBy"] == owner.username
    assert item["taskName"] == row.task.name
    assert item["directiveId"] == str(directive.id)
    assert item["directiveTitle"] == directive.title
    assert item["waitSeconds"] == pytest.approx((row.settled_at - row.created_at).total_seconds())


def test_a_pending_item_has_no_settlement(api, history):
    item = api.get(detail(history["Foxtrot"])).json()
    assert item["status"] == "pending"
    assert (item["settledAt"], item["settledBy"], item["waitSeconds"]) == (None, None, None)


def test_past_its_time_to_live_reads_expired(api, history):
    """Pending in the row but past expiresAt: status expired, in the expired filter only."""
    assert api.get(detail(history["Echo"])).json()["status"] == "expired"
    assert names(api.get(LIST, {"status": "expired"})) == ["Echo", "Delta"]
    assert names(api.get(LIST, {"status": "pending"})) == ["Foxtrot"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "answered"}, ["Alpha"]),
        ({"status": ["answered", "declined"]}, ["Bravo", "Alpha"]),
        ({"status": "answered,declined"}, ["Bravo", "Alpha"]),
        ({"status": ["answered, cancelled", "declined"]}, ["Charlie", "Bravo", "Alpha"]),
        ({"questionType": "contract_complete"}, ["Bravo"]),
        ({"search": "CONTEXT OF CHAR"}, ["Charlie"]),
        ({"search": "Delta quest"}, ["Delta"]),
    ],
)
def test_filters(api, history, query, expected):
    assert names(api.get(LIST, query)) == expected


def test_filter_by_task_and_directive(api, owner, history):
    elsewhere = factories.make_directive(owner)
    task, _ = factories.make_task(owner, elsewhere)
    factories.make_question(task, question="Golf question?")
    assert names(api.get(LIST, {"task": str(task.id)})) == ["Golf"]
    assert names(api.get(LIST, {"directive": str(elsewhere.id)})) == ["Golf"]
    assert names(api.get(LIST, {"directive": str(uuid.uuid4())})) == []


def test_filter_by_created_and_settled_dates(api, history):
    now = timezone.now()
    created_after = (now - timedelta(days=2, hours=12)).isoformat()
    created_before = (now - timedelta(days=4, hours=12)).isoformat()
    assert names(api.get(LIST, {"createdAfter": created_after})) == ["Foxtrot", "Echo"]
    assert names(api.get(LIST, {"createdBefore": created_before})) == ["Bravo", "Alpha"]
    settled_after = (now - timedelta(hours=2, minutes=30)).isoformat()
    settled_before = (now - timedelta(hours=2, minutes=30)).isoformat()
    assert names(api.get(LIST, {"settledAfter": settled_after})) == ["Charlie", "Alpha"]
    assert names(api.get(LIST, {"settledBefore": settled_before})) == ["Delta", "Bravo"]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("createdAt", ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"]),
        ("-createdAt", ["Foxtrot", "Echo", "Delta", "Charlie", "Bravo", "Alpha"]),
        # Not settled (Echo, Foxtrot) last either way, newest first among them.
        ("settledAt", ["Delta", "Bravo", "Alpha", "Charlie", "Foxtrot", "Echo"]),
        ("-settledAt", ["Charlie", "Alpha", "Bravo", "Delta", "Foxtrot", "Echo"]),
    ],
)
def test_ordering(api, history, ordering, expected):
    assert names(api.get(LIST, {"ordering": ordering})) == expected


def test_ordering_by_expiry(api, history):
    reply = api.get(LIST, {"ordering": "expiresAt"})
    expiries = [item["expiresAt"] for item in reply.json()["results"]]
    assert names(reply)[0] == "Echo"  # its time to live ran out first
    assert expiries == sorted(expiries)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"status": "answered,lost"}, "status"),
        ({"createdAfter": "yesterday"}, "createdAfter"),
        ({"settledBefore": "2026-13-01T00:00:00Z"}, "settledBefore"),
        ({"createdBefore": "2026-01-01T00:00:00+17:53"}, "createdBefore"),
        ({"questionType": "riddle"}, "questionType"),
        ({"task": "not-a-uuid"}, "task"),
        ({"ordering": "question"}, "ordering"),
    ],
)
def test_bad_filters_are_400_validation_error(api, history, query, field):
    assert_validation_error(api.get(LIST, query), field)


def test_page_size_is_capped_at_200(api, task_and_key):
    task, _ = task_and_key
    Question.objects.bulk_create(
        Question(owner=task.owner, task=task, question=f"q{index}") for index in range(205)
    )
    body = api.get(LIST, {"pageSize": 500}).json()
    assert (len(body["results"]), body["count"]) == (200, 205)
    second = api.get(LIST, {"pageSize": 200, "page": 2}).json()
    assert len(second["results"]) == 5 and second["previous"] is not None


@pytest.mark.parametrize("page_size", [1, 50])
def test_list_runs_a_constant_number_of_queries(
    api, owner, directive, django_assert_num_queries, page_size
):
    """Token lookup, count, one page query: 3 queries whatever the page size."""
    other_directive = factories.make_directive(owner)
    tasks = [factories.make_task(owner, d)[0] for d in (directive, other_directive, None)]
    for index in range(60):
        question = factories.make_question(tasks[index % 3], question=f"q{index}")
        if index % 2:
            question_services.question_answer(question_id=question.id, owner=owner, response="y")
    api.get(LIST)  # the token's last_used_at is written at most once a minute
    with django_assert_num_queries(3):
        response = api.get(LIST, {"pageSize": page_size})
    assert len(response.json()["results"]) == page_size
    assert response.json()["count"] == 60


# --- isolation -----------------------------------------------------------------------------------
def test_another_owners_questions_are_invisible_and_404(other_api, history):
    """Not in the list; the detail, answer and decline are 404 and change nothing."""
    assert other_api.get(LIST).json()["count"] == 0
    pending = history["Foxtrot"]
    assert other_api.get(detail(pending)).status_code == status.HTTP_404_NOT_FOUND
    for verb, body in [("answer", {"response": "x"}), ("decline", {})]:
        reply = other_api.post(f"{detail(pending)}{verb}/", body, format="json")
        assert reply.status_code == status.HTTP_404_NOT_FOUND
        assert reply.json()["code"] == "NOT_FOUND"
    assert Question.objects.get(pk=pending.pk).status == Question.Status.PENDING


def test_unknown_or_malformed_id_is_404(api, history):
    assert api.get(f"{LIST}{uuid.uuid4()}/").status_code == status.HTTP_404_NOT_FOUND
    assert api.get(f"{LIST}zzz/").status_code == status.HTTP_404_NOT_FOUND


def test_signed_out_is_401(client, history):
    assert client.get(LIST).status_code == status.HTTP_401_UNAUTHORIZED


# --- answer/ and decline/ ------------------------------------------------------------------------
def test_answer_returns_the_answered_question(api, owner, history):
    reply = api.post(f"{detail(history['Foxtrot'])}answer/", {"response": "go"}, format="json")
    assert reply.status_code == status.HTTP_200_OK, reply.json()
    body = reply.json()
    assert (body["status"], body["response"], body["settledBy"]) == ("answered", "go", "alice")
    assert body["waitSeconds"] >= 0


def test_decline_returns_the_declined_question_with_its_reason(api, history):
    reply = api.post(f"{detail(history['Foxtrot'])}decline/", {"reason": "later"}, format="json")
    assert reply.status_code == status.HTTP_200_OK, reply.json()
    assert (reply.json()["status"], reply.json()["reason"]) == ("declined", "later")


def test_decline_without_a_body(api, history):
    reply = api.post(f"{detail(history['Foxtrot'])}decline/")
    assert reply.status_code == status.HTTP_200_OK
    assert reply.json()["reason"] is None


@pytest.mark.parametrize(
    ("name", "verb", "body", "code", "expected"),
    [
        ("Alpha", "answer", {"response": "again"}, 409, "ALREADY_ANSWERED"),
        ("Bravo", "answer", {"response": "again"}, 409, "ALREADY_SETTLED"),
        ("Alpha", "decline", {}, 409, "ALREADY_SETTLED"),
        ("Delta", "answer", {"response": "late"}, 404, "NOT_FOUND"),
        ("Echo", "decline", {}, 404, "NOT_FOUND"),
        ("Foxtrot", "answer", {"response": ""}, 400, "VALIDATION_ERROR"),
        ("Foxtrot", "answer", {}, 400, "VALIDATION_ERROR"),
        ("Foxtrot", "decline", {"reason": "x" * 2001}, 400, "VALIDATION_ERROR"),
    ],
)
def test_settling_follows_the_reference_rules(api, history, name, verb, body, code, expected):
    """The reference paths' codes: first answer stands, settled is 409 with its status,
    expired is 404, a bad body is 400; nothing changes."""
    question = history[name]
    before = Question.objects.filter(pk=question.pk).values().get()
    reply = api.post(f"{detail(question)}{verb}/", body, format="json")
    assert reply.status_code == code, reply.json()
    assert reply.json()["code"] == expected
    assert Question.objects.filter(pk=question.pk).values().get() == before


def test_settled_conflict_names_the_status(api, history):
    reply = api.post(f"{detail(history['Bravo'])}decline/", {}, format="json")
    assert reply.json()["status"] == "declined"


def test_malformed_json_is_400(api, history):
    reply = api.post(
        f"{detail(history['Foxtrot'])}answer/", data="{", content_type="application/json"
    )
    assert reply.status_code == status.HTTP_400_BAD_REQUEST
    assert reply.json()["code"] == "VALIDATION_ERROR"


@pytest.mark.django_db(transaction=True)
async def test_decline_over_the_resource_wakes_the_blocked_ask(
    hub, settings, owner_token, task_and_key
):
    """The blocked ask returns at once with declined and the reason."""
    settings.MESH_AUTO_TIMEOUT_SECONDS = 10
    _, key = task_and_key
    pending = asyncio.ensure_future(ask(key, {"question": "Deploy?"}, timeout=15))
    question_id = await asked_question_id(hub)
    body = b'{"reason": "not now"}'
    reply = await call(
        "POST",
        f"{LIST}{question_id}/decline/",
        raw=body,
        token=owner_token,
        headers=[(b"content-length", str(len(body)).encode())],
    )
    assert reply.status == status.HTTP_200_OK, reply.json()
    assert reply.json()["reason"] == "not now"
    answer = (await asyncio.wait_for(pending, 2)).json()
    assert (answer["status"], answer["reason"], answer["stillPending"]) == (
        "declined",
        "not now",
        False,
    )
