"""mesh/questions/admin.py: the Question admin's list, filters, search, read-only detail,
its Decline and Expire now actions (through the services, waking waiters), and a
non-superuser staff owner's scoping to their own questions."""

import asyncio

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from rest_framework import status

from mesh.models import Question
from mesh.questions.admin import ADMIN_DECLINE_REASON, ADMIN_EXPIRE_REASON
from tests import factories
from tests.mesh.conftest import ask, asked_question_id, in_thread

CHANGELIST = reverse("admin:mesh_question_changelist")


def change_url(question) -> str:
    return reverse("admin:mesh_question_change", args=[question.pk])


def grant(user, *codenames: str) -> None:
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff_owner(owner):
    """alice as a non-superuser staff owner allowed to view and settle questions."""
    owner.is_staff = True
    owner.save()
    grant(owner, "view_question", "change_question")
    return owner


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", "pw")


@pytest.fixture
def questions(owner, other_owner, task_and_key):
    task, _ = task_and_key
    other_task, _ = factories.make_task(other_owner, factories.make_directive(other_owner))
    return {
        "mine": factories.make_question(task, question="Ship the mine release?", context="ctx"),
        "answered": factories.make_question(task, question="Already answered one"),
        "theirs": factories.make_question(other_task, question="Mallory's secret question"),
    }


def run_action(client: Client, action: str, *questions):
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [str(q.pk) for q in questions]},
        follow=True,
    )


def test_the_list_shows_the_columns(superuser, questions, owner):
    from mesh.questions import services

    services.question_answer(question_id=questions["answered"].pk, owner=owner, response="y")
    page = login(superuser).get(CHANGELIST)
    assert page.status_code == status.HTTP_200_OK
    html = page.content.decode()
    columns = ["question_cut", "owner", "task", "directive", "status_badge", "created_at"]
    for column in [*columns, "settled_at", "wait"]:
        assert f"column-{column}" in html, column
    assert "Ship the mine release?" in html and "Mallory&#x27;s secret question" in html
    assert 'class="question-status"' in html and "Answered" in html


def test_the_list_cuts_long_questions(superuser, task_and_key):
    task, _ = task_and_key
    factories.make_question(task, question="word " * 100)
    html = login(superuser).get(CHANGELIST).content.decode()
    assert ("word " * 100).strip() not in html
    assert "…" in html


def test_filters_and_search(superuser, questions, owner):
    from mesh.questions import services

    services.question_decline(question_id=questions["answered"].pk, owner=owner)
    client = login(superuser)
    declined = client.get(CHANGELIST, {"status__exact": "declined"}).context["cl"].result_list
    assert [q.pk for q in declined] == [questions["answered"].pk]
    found = client.get(CHANGELIST, {"q": "ctx"}).context["cl"].result_list
    assert [q.pk for q in found] == [questions["mine"].pk]
    directive = questions["theirs"].directive
    by_directive = client.get(CHANGELIST, {"directive": str(directive.pk)}).context["cl"]
    assert [q.pk for q in by_directive.result_list] == [questions["theirs"].pk]
    by_type = client.get(CHANGELIST, {"question_type__exact": "general"}).context["cl"]
    assert by_type.result_count == 3
    assert client.get(CHANGELIST, {"directive": "nope"}).context["cl"].result_count == 0


def test_the_detail_is_read_only(superuser, questions):
    client = login(superuser)
    page = client.get(change_url(questions["mine"]))
    assert page.status_code == status.HTTP_200_OK
    html = page.content.decode()
    assert "Ship the mine release?" in html
    assert 'name="question"' not in html and 'name="_save"' not in html
    before = Question.objects.filter(pk=questions["mine"].pk).values().get()
    client.post(change_url(questions["mine"]), {"question": "changed"})
    assert Question.objects.filter(pk=questions["mine"].pk).values().get() == before
    assert client.get(reverse("admin:mesh_question_add")).status_code == 403


def test_decline_action_settles_pending_ones_and_skips_the_rest(superuser, questions, owner):
    from mesh.questions import services

    services.question_answer(question_id=questions["answered"].pk, owner=owner, response="y")
    page = run_action(login(superuser), "decline", questions["mine"], questions["answered"])
    assert "1 question(s) declined. 1 skipped: no longer pending." in page.content.decode()
    row = Question.objects.get(pk=questions["mine"].pk)
    assert (row.status, row.reason, row.settled_by) == ("declined", ADMIN_DECLINE_REASON, superuser)
    assert Question.objects.get(pk=questions["answered"].pk).status == "answered"


def test_expire_now_action(superuser, questions):
    page = run_action(login(superuser), "expire_now", questions["mine"], questions["theirs"])
    assert "2 question(s) expired." in page.content.decode()
    for name in ("mine", "theirs"):
        row = Question.objects.get(pk=questions[name].pk)
        assert (row.status, row.reason) == ("expired", ADMIN_EXPIRE_REASON)


def test_staff_see_only_their_own_questions(staff_owner, questions):
    client = login(staff_owner)
    shown = {q.pk for q in client.get(CHANGELIST).context["cl"].result_list}
    assert shown == {questions["mine"].pk, questions["answered"].pk}
    assert client.get(change_url(questions["theirs"])).status_code in (302, 404)
    directives = client.get(CHANGELIST).context["cl"].filter_specs
    offered = [choice for spec in directives for choice in getattr(spec, "lookup_choices", [])]
    assert str(questions["theirs"].directive.pk) not in {str(pk) for pk, _ in offered}


def test_staff_cannot_act_on_another_owners_question(staff_owner, questions):
    client = login(staff_owner)
    run_action(client, "decline", questions["theirs"])
    run_action(client, "expire_now", questions["theirs"])
    assert Question.objects.get(pk=questions["theirs"].pk).status == "pending"
    run_action(client, "decline", questions["mine"])
    row = Question.objects.get(pk=questions["mine"].pk)
    assert (row.status, row.settled_by) == ("declined", staff_owner)


def test_staff_with_view_only_get_no_actions(owner, questions):
    owner.is_staff = True
    owner.save()
    grant(owner, "view_question")
    client = login(owner)
    page = client.get(CHANGELIST)
    assert page.status_code == status.HTTP_200_OK
    assert 'name="action"' not in page.content.decode()
    run_action(client, "decline", questions["mine"])
    assert Question.objects.get(pk=questions["mine"].pk).status == "pending"


@pytest.mark.django_db(transaction=True)
async def test_the_decline_action_wakes_the_blocked_ask(hub, settings, task_and_key):
    """The ask waiting on the question returns at once with declined and the reason."""
    settings.MESH_AUTO_TIMEOUT_SECONDS = 10
    root = await in_thread(get_user_model().objects.create_superuser)("root", "r@x.org", "pw")
    _, key = task_and_key
    pending = asyncio.ensure_future(ask(key, {"question": "Deploy?"}, timeout=15))
    question_id = await asked_question_id(hub)
    question = await in_thread(Question.objects.get)(pk=question_id)
    await in_thread(lambda: run_action(login(root), "decline", question))()
    reply = (await asyncio.wait_for(pending, 2)).json()
    assert (reply["status"], reply["reason"]) == ("declined", ADMIN_DECLINE_REASON)
