"""Periodic work, scheduled by the worker itself (no cron): self-renewing jobs.

Each periodic job is an ordinary task (django_tasks) listed in WORKER_PERIODIC_TASKS with
its interval. `ensure_schedule()` (run by `manage.py db_worker` as it starts) enqueues the
jobs that have no run waiting; every run enqueues its successor `interval` seconds later
(`next_run`). The runs are rows of the database backend, so the schedule survives restarts.
With several workers starting at once two chains may appear for a moment; a run that finds
another run waiting does not renew itself, so they merge back into one. A run left RUNNING
by a killed worker counts as dead after WORKER_STALE_SECONDS.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import TaskResultStatus
from django_tasks.base import Task
from django_tasks_db.models import DBTaskResult


def periodic_tasks() -> list[tuple[Task[Any, Any], float]]:
    """(task, interval in seconds) for every configured job that is switched on."""
    jobs = []
    for path, interval in settings.WORKER_PERIODIC_TASKS.items():
        seconds = float(getattr(settings, interval) if isinstance(interval, str) else interval)
        if seconds > 0:
            jobs.append((import_string(path), seconds))
    return jobs


def _has_live_run(job: Task[Any, Any]) -> bool:
    runs = DBTaskResult.objects.filter(task_path=job.module_path)
    stale = timezone.now() - timedelta(seconds=settings.WORKER_STALE_SECONDS)
    return (
        runs.filter(status=TaskResultStatus.READY).exists()
        or runs.filter(status=TaskResultStatus.RUNNING, started_at__gt=stale).exists()
    )


@transaction.atomic
def ensure_schedule() -> int:
    """Enqueue (to run now) every periodic job with no run waiting; how many it enqueued."""
    enqueued = 0
    for job, _interval in periodic_tasks():
        if not _has_live_run(job):
            job.enqueue()
            enqueued += 1
    return enqueued


@contextmanager
def next_run(job: Task[Any, Any], interval: float) -> Iterator[None]:
    """Around a periodic job's body: afterwards (also after an error) enqueue its next run,
    `interval` seconds from now, unless one is already waiting or the job is switched off."""
    try:
        yield
    finally:
        if interval > 0:
            with transaction.atomic():
                waiting = DBTaskResult.objects.filter(
                    task_path=job.module_path, status=TaskResultStatus.READY
                )
                if not waiting.exists():
                    job.using(run_after=timezone.now() + timedelta(seconds=interval)).enqueue()
