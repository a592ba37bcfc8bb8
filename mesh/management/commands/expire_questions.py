from typing import Any

from django.core.management.base import BaseCommand

from mesh.questions.services import question_expire_due


class Command(BaseCommand):
    help = (
        "Mark pending questions past their time to live expired and publish question.expired "
        "for each (every server process also does this every MESH_EXPIRE_SWEEP_SECONDS)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        expired = question_expire_due()
        self.stdout.write(f"Expired {expired} question(s).")
