"""The question lifecycle in the services: every settlement, and one winner among them."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from makima_site.errors import ApplicationError, Conflict, Forbidden, NotFound
from mesh.models import Question
from mesh.questions import selectors, services
from mesh.questions.errors import AlreadySettled
from mesh.tasks import services as task_services
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)
Status = Question.Status


@pytest.fixture
def task(task_and_key):
    return task_and_key[0]


def refreshed(question: Question) -> Question:
    return Question.objects.get(pk=question.pk)


def past_ttl(question: Question) -> Question:
    Question.objects.filter(pk=question.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    return refreshed(question)


# --- each settlement ----------------------------------------------------------------------------
def test_answer_stores_status_response_settled_at_and_who(task, owner):
    """answered: the response, answeredAt = settledAt, answered_by = settled_by = the owner."""
    question = factories.make_question(task)
    services.question_answer(question_id=question.id, owner=owner, response="yes")
    row = refreshed(question)
    assert (row.status, row.response, row.reason) == (Status.ANSWERED, "yes", None)
    assert row.settled_at is not None and row.settled_at == row.answered_at
    assert row.settled_by == owner == row.answered_by


def test_decline_stores_the_reason_and_who(task, owner):
    """declined: the owner's reason, settledAt and settled_by; no response."""
    question = factories.make_question(task)
    services.question_decline(question_id=question.id, owner=owner, reason="not now")
    row = refreshed(question)
    assert (row.status, row.response, row.reason) == (Status.DECLINED, None, "not now")
    assert row.settled_at is not None
    assert row.settled_by == owner


def test_decline_without_a_reason_stores_none(task, owner):
    question = factories.make_question(task)
    services.question_decline(question_id=question.id, owner=owner, reason="")
    assert refreshed(question).reason is None


def test_cancel_by_the_asking_task(task):
    """cancelled: the task's reason and settledAt; nobody as settled_by."""
    question = factories.make_question(task)
    services.question_cancel(question_id=question.id, task=task, reason="obsolete")
    row = refreshed(question)
    assert (row.status, row.reason, row.settled_by) == (Status.CANCELLED, "obsolete", None)
    assert row.settled_at is not None


def test_cancel_of_another_tasks_question_is_404_and_changes_nothing(task, owner, directive):
    other_task, _ = factories.make_task(owner, directive)
    question = factories.make_question(task)
    with pytest.raises(NotFound):
        services.question_cancel(question_id=question.id, task=other_task)
    assert refreshed(question).status == Status.PENDING


def test_expire_stores_the_reason(task):
    question = factories.make_question(task)
    assert services.question_expire(question_id=question.id) is True
    row = refreshed(question)
    assert (row.status, row.reason) == (Status.EXPIRED, services.REASON_TIMED_OUT)


# --- what a settled question refuses -----------------------------------------------------------
@pytest.mark.parametrize(
    ("settle", "answer_error", "status"),
    [
        ("answer", "ALREADY_ANSWERED", Status.ANSWERED),
        ("decline", "ALREADY_SETTLED", Status.DECLINED),
        ("cancel", "ALREADY_SETTLED", Status.CANCELLED),
    ],
)
def test_a_settled_question_refuses_every_other_settlement(
    task, owner, settle, answer_error, status
):
    """Answer → 409 ALREADY_ANSWERED only for answered ones; decline/cancel → ALREADY_SETTLED
    naming the status; nothing changes."""
    question = factories.make_question(task)
    {
        "answer": lambda: services.question_answer(
            question_id=question.id, owner=owner, response="first"
        ),
        "decline": lambda: services.question_decline(question_id=question.id, owner=owner),
        "cancel": lambda: services.question_cancel(question_id=question.id, task=task),
    }[settle]()
    before = refreshed(question)
    with pytest.raises(Conflict) as answered:
        services.question_answer(question_id=question.id, owner=owner, response="second")
    assert answered.value.code == answer_error
    with pytest.raises(AlreadySettled) as declined:
        services.question_decline(question_id=question.id, owner=owner)
    assert declined.value.status == status
    with pytest.raises(AlreadySettled) as cancelled:
        services.question_cancel(question_id=question.id, task=task)
    assert cancelled.value.body()["status"] == status
    after = refreshed(question)
    assert (after.status, after.response, after.reason) == (
        before.status,
        before.response,
        before.reason,
    )


def test_another_owners_question_is_forbidden_to_answer_and_decline(task, other_owner):
    question = factories.make_question(task)
    with pytest.raises(Forbidden):
        services.question_decline(question_id=question.id, owner=other_owner)
    with pytest.raises(Forbidden):
        services.question_answer(question_id=question.id, owner=other_owner, response="x")
    assert refreshed(question).status == Status.PENDING


# --- time to live ------------------------------------------------------------------------------
def test_every_question_gets_expires_at_from_ttl_or_the_default(task, settings):
    settings.MESH_QUESTION_TTL_SECONDS = 604800
    before = timezone.now()
    default = factories.make_question(task)
    short = factories.make_question(task, ttl_seconds=60)
    assert timedelta(days=7) <= default.expires_at - before < timedelta(days=7, seconds=5)
    assert timedelta(seconds=60) <= short.expires_at - before < timedelta(seconds=65)


def test_past_its_ttl_a_question_is_expired_everywhere_before_any_sweep(task, owner):
    """Not listed, answer and decline 404, cancel 409 expired; the row is still pending."""
    question = past_ttl(factories.make_question(task))
    assert not selectors.question_list_pending(owner=owner).filter(pk=question.pk).exists()
    with pytest.raises(NotFound):
        services.question_answer(question_id=question.id, owner=owner, response="late")
    with pytest.raises(NotFound):
        services.question_decline(question_id=question.id, owner=owner)
    with pytest.raises(AlreadySettled) as cancelled:
        services.question_cancel(question_id=question.id, task=task)
    assert cancelled.value.status == Status.EXPIRED
    assert refreshed(question).status == Status.PENDING


def test_the_sweep_expires_only_questions_past_their_ttl(task):
    due = [past_ttl(factories.make_question(task)) for _ in range(3)]
    fresh = factories.make_question(task)
    assert services.question_expire_due(batch=2) == 3
    assert {refreshed(q).status for q in due} == {Status.EXPIRED}
    assert {refreshed(q).reason for q in due} == {services.REASON_TTL}
    assert refreshed(fresh).status == Status.PENDING
    assert services.question_expire_due() == 0


# --- the per-task cap ---------------------------------------------------------------------------
def test_a_task_holds_at_most_the_pending_limit(task, settings):
    """The next ask is 429 TOO_MANY_PENDING naming the limit; settled ones do not count."""
    settings.MESH_MAX_PENDING_PER_TASK = 2
    first = factories.make_question(task)
    factories.make_question(task)
    with pytest.raises(ApplicationError) as refused:
        factories.make_question(task)
    assert (refused.value.status_code, refused.value.code) == (429, "TOO_MANY_PENDING")
    assert "2 pending questions" in refused.value.message
    services.question_cancel(question_id=first.id, task=task)
    factories.make_question(task)
    assert Question.objects.filter(task=task).count() == 3


# --- task end -----------------------------------------------------------------------------------
@pytest.mark.parametrize("status", ["done", "failed", "cancelled"])
def test_a_finished_task_cancels_its_pending_questions(task, owner, status):
    pending = factories.make_question(task)
    answered = factories.make_question(task)
    services.question_answer(question_id=answered.id, owner=owner, response="ok")
    task_services.task_update(task=task, status=status)
    assert (refreshed(pending).status, refreshed(pending).reason) == (
        Status.CANCELLED,
        services.REASON_TASK_FINISHED,
    )
    assert refreshed(answered).status == Status.ANSWERED


def test_a_running_task_keeps_its_questions(task):
    question = factories.make_question(task)
    task_services.task_update(task=task, status="running")
    assert refreshed(question).status == Status.PENDING


def test_a_deleted_task_publishes_cancelled_for_its_questions(task, monkeypatch):
    """The rows go with the task, but their waiters first hear cancelled / task deleted."""
    published = []
    monkeypatch.setattr(
        services.events, "publish_question_settled", lambda row: published.append(row)
    )
    question = factories.make_question(task)
    task_services.task_delete(task=task)
    assert [(row.id, row.status, row.reason) for row in published] == [
        (question.id, Status.CANCELLED, services.REASON_TASK_DELETED)
    ]
    assert not Question.objects.filter(pk=question.pk).exists()


# --- races: exactly one winner ------------------------------------------------------------------
SETTLEMENTS = {
    "answer": lambda q, task, owner: services.question_answer(
        question_id=q.id, owner=owner, response="race"
    ),
    "decline": lambda q, task, owner: services.question_decline(question_id=q.id, owner=owner),
    "cancel": lambda q, task, owner: services.question_cancel(question_id=q.id, task=task),
    "expire": lambda q, task, owner: services.question_expire(question_id=q.id) or None,
}


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_settlements_have_exactly_one_winner(task, owner, round_):
    """Answer, decline, cancel and expiry at once, twice each: one wins, the rest lose."""
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("threads need a file database")
    question = factories.make_question(task)
    names = [*SETTLEMENTS, *SETTLEMENTS]
    barrier = threading.Barrier(len(names))
    won: list[str] = []

    def attempt(name: str) -> None:
        try:
            barrier.wait()
            result = SETTLEMENTS[name](question, task, owner)
            if result is not None:
                won.append(name)
        except (ApplicationError, NotFound):
            pass
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    row = refreshed(question)
    assert (
        row.status
        == {
            "answer": Status.ANSWERED,
            "decline": Status.DECLINED,
            "cancel": Status.CANCELLED,
            "expire": Status.EXPIRED,
        }[won[0]]
    )
