import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from mesh.demo.instructions import demo_block
from mesh.demo.setup import demo_setup


class Command(BaseCommand):
    help = (
        "Create (once) the local demo: an owner, a directive and a task; print the questions "
        "page and its login, then three ready commands (ask, list, answer) with the API token "
        "and the task's tool key. Safe to run "
        "again: it creates nothing twice and prints working credentials. Skipped with DEBUG off."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url", default="http://127.0.0.1:8000", help="Where the server listens."
        )
        parser.add_argument(
            "--credentials-file",
            default=str(settings.BASE_DIR / ".demo" / "credentials.json"),
            help="Where the demo's secrets are kept between runs (git-ignored, mode 0600).",
        )

    def handle(self, *args, base_url: str, credentials_file: str, **options):
        if not settings.DEBUG:
            self.stdout.write(
                "DEBUG is off: no demo owner is set up (a superuser whose password is printed "
                "does not belong on a production site). Create owners with "
                "`manage.py createsuperuser` and tokens with `manage.py create_api_token`."
            )
            return
        demo = demo_setup(credentials_path=Path(credentials_file))
        shown_path = os.path.relpath(credentials_file)
        if shown_path.startswith(".."):
            shown_path = credentials_file
        self.stdout.write(
            demo_block(
                demo,
                base=base_url.rstrip("/"),
                credentials_shown=shown_path,
                block_wait_seconds=settings.MESH_BLOCK_WAIT_SECONDS,
            )
        )
