"""Create (and later delete) the owners, tokens, directives and tasks a benchmark run uses.

Run by bench/run.py with the same environment as the server processes, so it writes to the
same database:

    python bench/fixtures.py create < spec.json   # prints the raw credentials as JSON
    python bench/fixtures.py cleanup PREFIX       # deletes every owner named PREFIX-*

The spec is {"prefix": "bench-ab12", "groups": [{"name": "wake", "owners": 1,
"tasks_per_owner": 4, "mode": "semi-auto"}, ...]}. Owners get no usable password (hashing
one costs ~0.3 s each). Writes go through the services, as in production, except the
optional `"pending_questions": N` of a group: N pending questions per owner, spread
round-robin over the owner's tasks, inserted with bulk_create (with `"question_ids": true`
their ids come back too) (asking 20,000 questions
through the ask endpoint would take minutes and run into the ask throttle and the per-task
cap on pending questions). The raw tokens and tool keys only travel over this process's
stdout to the harness; they are never written to a file.
"""

import json
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "makima_site.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from directives.models import Directive  # noqa: E402
from mesh.credentials import services as credential_services  # noqa: E402
from mesh.models import Question, Task  # noqa: E402
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
            task_rows = []
            for task_index in range(group.get("tasks_per_owner", 1)):
                task, key = task_services.task_create(
                    owner=user, name=f"bench task {task_index}", directive=directive
                )
                tasks.append({"id": str(task.id), "key": key})
                task_rows.append(task)
            t0 = time.perf_counter()
            created = bulk_pending_questions(
                owner=user,
                directive=directive,
                tasks=task_rows,
                count=group.get("pending_questions", 0),
            )
            question_ids = (
                [str(pk) for pk in Question.objects.filter(owner=user).values_list("id", flat=True)]
                if group.get("question_ids")
                else []
            )
            owners.append(
                {
                    "id": user.pk,
                    "question_ids": question_ids,
                    "username": user.username,
                    "token": token,
                    "directive_id": str(directive.id),
                    "tasks": tasks,
                    "pending_questions": created,
                    "pending_questions_s": round(time.perf_counter() - t0, 2),
                }
            )
        out["groups"][group["name"]] = owners
    return out


# What supervised agents ask their owners, to fill question texts of a realistic length.
_SUBJECTS = [
    "the migration that renames the orders.status column",
    "the retry policy for the payment webhook",
    "deleting the 14 stale feature branches",
    "the failing nightly export to the analytics bucket",
    "upgrading the PostgreSQL minor version on staging",
    "the new rate limit for the public search endpoint",
    "rotating the deploy key of the docs site",
    "the flaky browser test in the checkout suite",
]
_ASKS = [
    "Should I go ahead with {s}, or wait until the release freeze is over?",
    "I am about to change {s}. Do you want me to open a pull request first?",
    "Two options for {s}: patch it in place or rewrite the module. Which do you prefer?",
    "Can I run {s} during working hours, or should it wait for the maintenance window?",
]
_CONTEXT_LINE = (
    "step {n}: ran the check against the current branch; 3 warnings, 0 errors; "
    "the diff touches {s} and two helper modules.\n"
)
BULK_BATCH = 1000
# The time to live the model's default is about to use (MESH_QUESTION_TTL_SECONDS, 7 days).
QUESTION_TTL = timedelta(days=7)


def question_texts(index: int, rng: random.Random) -> tuple[str, str | None]:
    """A question of ~80-200 characters; every 10th also carries 1-3 KB of context, so the
    list's and the snapshot's sizes are those of real questions, not of stubs."""
    subject = _SUBJECTS[index % len(_SUBJECTS)]
    text = f"{_ASKS[(index // len(_SUBJECTS)) % len(_ASKS)].format(s=subject)} (#{index})"
    if index % 10:
        return text, None
    target = rng.randint(1024, 3072)
    lines: list[str] = []
    size = 0
    while size < target:
        line = _CONTEXT_LINE.format(n=len(lines) + 1, s=subject)
        lines.append(line)
        size += len(line)
    return text, "".join(lines)[:target]


def bulk_pending_questions(*, owner, directive: Directive, tasks: list[Task], count: int) -> int:
    """Insert `count` pending questions of the owner, round-robin over the tasks."""
    if count <= 0 or not tasks:
        return 0
    # The model is about to gain a NOT NULL expires_at; set it only where it exists, so
    # the fixture works on either side of that migration.
    has_expiry = any(f.name == "expires_at" for f in Question._meta.get_fields())
    expires_at = timezone.now() + QUESTION_TTL
    rng = random.Random(owner.pk)  # sizes, not secrets
    created = 0
    with transaction.atomic():
        while created < count:
            batch = []
            for index in range(created, min(count, created + BULK_BATCH)):
                text, context = question_texts(index, rng)
                fields: dict[str, Any] = {
                    "owner": owner,
                    "task": tasks[index % len(tasks)],
                    "directive": directive,
                    "question": text,
                    "choices": [],
                    "context": context,
                    "status": Question.Status.PENDING,
                }
                if has_expiry:
                    fields["expires_at"] = expires_at
                batch.append(Question(**fields))
            Question.objects.bulk_create(batch, batch_size=BULK_BATCH)
            created += len(batch)
    return created


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
