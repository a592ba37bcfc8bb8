"""The periodic sweep of expired questions, run by every server process.

A question past its time to live is already expired everywhere (selectors and services treat
it so, and waiters end at it); the sweep marks the row and publishes question.expired so
open pages and, later, notifications hear of it. Every process sweeps every
MESH_EXPIRE_SWEEP_SECONDS (0 turns it off); each row is expired by exactly one of them.
`manage.py expire_questions` runs one sweep by hand.
"""

import asyncio
import logging

from django.conf import settings

from makima_site.db import db_step
from makima_site.loops import PerLoop
from mesh.questions.services import question_expire_due

logger = logging.getLogger(__name__)


async def _sweep_forever(interval: float) -> None:
    sweep = db_step(question_expire_due)
    while True:
        await asyncio.sleep(interval)
        try:
            expired = await sweep()
        except Exception:
            logger.exception("The sweep of expired questions failed; retrying next round")
            continue
        if expired:
            logger.info("Expired %d question(s) past their time to live", expired)


def _start() -> "asyncio.Task[None] | None":
    interval = float(settings.MESH_EXPIRE_SWEEP_SECONDS)
    if interval <= 0:
        return None
    return asyncio.get_running_loop().create_task(
        _sweep_forever(interval), name="mesh-question-sweeper"
    )


_sweepers: PerLoop["asyncio.Task[None] | None"] = PerLoop(
    _start, replace_if=lambda task: task is not None and task.done()
)


def ensure_sweeper() -> None:
    """Start this process's sweep if it is not running (called on each request: cheap)."""
    _sweepers.get()


async def stop_sweeper() -> None:
    """Stop this process's sweep, if running (test teardown, shutdown)."""
    task = _sweepers.pop()
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
