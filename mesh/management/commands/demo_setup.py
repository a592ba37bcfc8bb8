import json
import os
import shlex
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from mesh.demo.setup import demo_setup


class Command(BaseCommand):
    help = (
        "Create (once) the local demo: an owner, a directive and a task; print the login, an "
        "API token, the task's tool key and a curl command that asks a question. Safe to run "
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
        base = base_url.rstrip("/")
        body = json.dumps(
            {
                "question": "Ship the demo?",
                "choices": ["yes", "not yet"],
                "nonBlocking": True,
            }
        )
        curl = " ".join(
            [
                "curl -X POST",
                shlex.quote(f"{base}/api/v1/mesh/supervisor/questions"),
                "-H",
                shlex.quote(f"X-Makima-Tool-Key: {demo.tool_key}"),
                "-H",
                shlex.quote("Content-Type: application/json"),
                "-d",
                shlex.quote(body),
            ]
        )
        shown_path = os.path.relpath(credentials_file)
        if shown_path.startswith(".."):
            shown_path = credentials_file
        done = "; ".join(demo.changes) if demo.changes else "nothing new (all in place)"
        lines = [
            "",
            f"== Makima mesh demo (local only; secrets kept in {shown_path})",
            f"   This run: {done}.",
            f"   Admin:     {base}/admin/  login {demo.username!r}, password {demo.password!r}",
            f"   API token: {demo.api_token}",
            f"              (Authorization: Bearer <token>; try {base}/api/v1/directives/)",
            f"   Tool key:  {demo.tool_key}",
            f"              (task {demo.task.name!r} of directive {demo.directive.title!r})",
            f"   API docs:  {base}/api/docs/",
            "   Ask the owner a question as the task (answer it with "
            "POST /api/v1/mesh/questions/<questionId>/answer):",
            "",
            curl,
            "",
        ]
        self.stdout.write("\n".join(lines))
