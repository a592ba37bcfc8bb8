"""The server's own sweep: every process marks questions past their time to live."""

import asyncio
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from mesh.models import Question
from mesh.questions.sweeper import ensure_sweeper, stop_sweeper
from tests import factories
from tests.mesh.conftest import in_thread

pytestmark = pytest.mark.django_db(transaction=True)


@in_thread
def question_past_its_ttl(task) -> Question:
    question = factories.make_question(task)
    Question.objects.filter(pk=question.pk).update(expires_at=timezone.now() - timedelta(1))
    return question


@in_thread
def status_of(question) -> str:
    return Question.objects.get(pk=question.pk).status


async def test_the_running_sweep_expires_due_questions_by_itself(settings, task_and_key):
    settings.MESH_EXPIRE_SWEEP_SECONDS = 0.05
    question = await question_past_its_ttl(task_and_key[0])
    ensure_sweeper()
    try:
        for _ in range(100):
            if await status_of(question) == "expired":
                break
            await asyncio.sleep(0.02)
        assert await status_of(question) == "expired"
    finally:
        await stop_sweeper()


async def test_a_zero_interval_turns_the_sweep_off(settings, task_and_key):
    settings.MESH_EXPIRE_SWEEP_SECONDS = 0
    question = await question_past_its_ttl(task_and_key[0])
    ensure_sweeper()
    await asyncio.sleep(0.1)
    assert await status_of(question) == "pending"
    await stop_sweeper()


@pytest.mark.django_db
def test_the_command_runs_one_sweep(task_and_key, capsys):
    question = factories.make_question(task_and_key[0])
    Question.objects.filter(pk=question.pk).update(expires_at=timezone.now() - timedelta(1))
    call_command("expire_questions")
    assert "Expired 1 question(s)." in capsys.readouterr().out
    assert Question.objects.get(pk=question.pk).status == "expired"
