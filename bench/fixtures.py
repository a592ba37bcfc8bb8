"""Create (and later delete) the owners, tokens, directives and tasks a benchmark run uses.

Run by bench/run.py with the same environment as the server processes, so it writes to the
same database:

    python bench/fixtures.py create < spec.json   # prints the raw credentials as JSON
    python bench/fixtures.py cleanup PREFIX       # deletes every owner named PREFIX-*

The spec is {"prefix": "bench-ab12", "groups": [{"name": "wake", "owners": 1,
"tasks_per_owner": 4, "mode": "semi-auto"}, ...]}. Owners get no usable password (hashing
one costs ~0.3 s each). Writes go through the services, as in production. The raw tokens
and tool keys only travel over this process's stdout to the harness; they are never written
to a file.
"""

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "makima_site.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import transaction  # noqa: E402

from directives.models import Directive  # noqa: E402
from mesh.credentials import services as credential_services  # noqa: E402
from mesh.tasks import services as task_services  # noqa: E402


def create(spec: dict) -> dict:
    User = get_user_model()
    prefix = spec["prefix"]
    out: dict = {"groups": {}}
    for group in spec["groups"]:
        owners = []
        for index in range(group["owners"]):
            with transaction.atomic():
                user = User(username=f"{prefix}-{group['name']}-{index}")
                user.set_unusable_password()
                user.save()
                _, token = credential_services.api_token_create(owner=user, name="bench")
                directive = Directive.objects.create(
                    owner=user,
                    title=f"bench {group['name']} {index}",
                    goal="benchmark",
                    reconcile_mode=group.get("mode", Directive.ReconcileMode.SEMI_AUTO),
                )
            tasks = []
            for task_index in range(group.get("tasks_per_owner", 1)):
                task, key = task_services.task_create(
                    owner=user, name=f"bench task {task_index}", directive=directive
                )
                tasks.append({"id": str(task.id), "key": key})
            owners.append(
                {
                    "id": user.pk,
                    "username": user.username,
                    "token": token,
                    "directive_id": str(directive.id),
                    "tasks": tasks,
                }
            )
        out["groups"][group["name"]] = owners
    return out


def cleanup(prefix: str) -> int:
    deleted, _ = get_user_model().objects.filter(username__startswith=f"{prefix}-").delete()
    return deleted


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "create":
        print(json.dumps(create(json.load(sys.stdin))))
    elif command == "cleanup" and len(sys.argv) == 3:
        print(json.dumps({"deleted": cleanup(sys.argv[2])}))
    else:
        sys.exit("usage: fixtures.py create < spec.json | fixtures.py cleanup PREFIX")


if __name__ == "__main__":
    main()
