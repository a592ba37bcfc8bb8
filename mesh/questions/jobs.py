"""The questions' background job: the expiry sweep, run periodically by the worker
(worker.schedule, every MESH_EXPIRE_SWEEP_SECONDS)."""

import logging

from django.conf import settings
from django_tasks import task

from mesh.questions.services import question_expire_due
from worker.schedule import next_run

logger = logging.getLogger(__name__)


@task()
def expire_due_questions() -> int:
    """Mark the questions past their time to live expired (question.expired for each)."""
    with next_run(expire_due_questions, float(settings.MESH_EXPIRE_SWEEP_SECONDS)):
        expired = question_expire_due()
        if expired:
            logger.info("Expired %d question(s) past their time to live", expired)
        return expired
