"""`manage.py db_worker`: django_tasks_db's worker, which first puts the periodic jobs on
the schedule (worker.schedule). The worker app is listed before django_tasks_db in
INSTALLED_APPS, so this command is the one Django runs."""

from typing import Any

from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from worker.schedule import ensure_schedule


class Command(DatabaseWorkerCommand):
    help = "Run the background worker (webhooks, notifications, periodic sweeps)"

    def handle(self, *args: Any, **options: Any) -> None:
        ensure_schedule()
        super().handle(*args, **options)
