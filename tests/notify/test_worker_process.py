"""A real worker process (`manage.py db_worker`): SIGKILLed mid-attempt and mid-schedule,
started again, it delivers — always with the same webhook-id. It also schedules the
periodic jobs itself."""

import os
import signal
import subprocess
import sys
import time

import pytest

from notify import services
from notify.models import Delivery
from tests import factories
from tests.live_daphne import ROOT
from tests.live_daphne import test_database_env as database_env

pytestmark = pytest.mark.django_db(transaction=True)


def _spawn_worker(log) -> subprocess.Popen:
    env = {
        **os.environ,
        **database_env(),
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1",
        "WEBHOOK_RETRY_SCHEDULE": "4,4,4",
        "WEBHOOK_LEASE_SECONDS": "1",
        "NOTIFY_PUMP_SECONDS": "0.3",
        "NOTIFY_REMINDER_SWEEP_SECONDS": "0",
        "MESH_EXPIRE_SWEEP_SECONDS": "0.3",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--no-reload",
            "--no-startup-delay",
            "--interval",
            "0.05",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _wait(condition, timeout=40.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def worker_log(tmp_path):
    with (tmp_path / "worker.log").open("wb") as log:
        yield log


def test_sigkill_mid_attempt_and_mid_schedule_then_restart_delivers_with_one_id(
    owner, task_and_key, receiver, worker_log
):
    webhook, secret = services.webhook_create(owner=owner, url=receiver.url)
    receiver.secrets.append(secret)
    receiver.statuses = [200, 500]  # the first attempt is cut off by the kill anyway
    receiver.delays = [3.0]
    factories.make_question(task_and_key[0])
    worker = _spawn_worker(worker_log)
    try:
        assert _wait(lambda: len(receiver.received) >= 1), "the first attempt never came"
        worker.send_signal(signal.SIGKILL)  # mid-attempt: the delivery's lease is held
        worker.wait(5)
        worker = _spawn_worker(worker_log)
        # The lease runs out, the pump sends it again: the 500 answer…
        assert _wait(lambda: Delivery.objects.get().attempt_count >= 1)
        worker.send_signal(signal.SIGKILL)  # …and a kill mid-schedule, before the retry (4 s)
        worker.wait(5)
        delivery = Delivery.objects.get()
        attempts = [(a.http_status, a.error) for a in delivery.attempts.all()]
        assert delivery.status == Delivery.Status.RETRYING, (attempts, len(receiver.received))
        worker = _spawn_worker(worker_log)
        assert _wait(lambda: Delivery.objects.get().status == Delivery.Status.SUCCEEDED)
    finally:
        worker.kill()
        worker.wait(5)
    assert len(receiver.received) == 3
    assert len(set(receiver.ids())) == 1
    assert all(r.verified for r in receiver.received)
    assert [a.http_status for a in Delivery.objects.get().attempts.all()] == [500, 200]


def test_the_worker_schedules_the_expiry_sweep_itself(task_and_key, worker_log):
    from datetime import timedelta

    from django.utils import timezone

    from mesh.models import Question

    question = factories.make_question(task_and_key[0])
    Question.objects.filter(pk=question.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    worker = _spawn_worker(worker_log)
    try:
        assert _wait(lambda: Question.objects.get(pk=question.pk).status == "expired")
    finally:
        worker.kill()
        worker.wait(5)
