"""The outbox's cost inside the ask, without HTTP: question_ask() timed in one process for an
owner with one webhook endpoint and one without, interleaved (so machine noise hits both
alike). Run by bench/webhooks.py with the cluster's environment; prints one JSON line.

    python bench/enqueue_cost.py PREFIX N
"""

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "makima_site.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402

from directives.models import Directive  # noqa: E402
from mesh.questions.services import question_ask, question_cancel_for_task  # noqa: E402
from mesh.tasks.services import task_create  # noqa: E402
from notify.services import webhook_create  # noqa: E402


def main(prefix: str, n: int) -> None:
    from bench.harness import summary_ms

    tasks = {}
    for name in ("plain", "hooked"):
        owner = get_user_model().objects.create(username=f"{prefix}-enqueue-{name}")
        directive = Directive.objects.create(owner=owner, title="enqueue cost", goal="bench")
        tasks[name], _ = task_create(owner=owner, name="enqueue", directive=directive)
        if name == "hooked":
            webhook_create(owner=owner, url="http://127.0.0.1:9/never-called", is_active=True)
    samples: dict[str, list[float]] = {"plain": [], "hooked": []}
    for i in range(n):
        for name in ("plain", "hooked") if i % 2 else ("hooked", "plain"):
            t0 = time.perf_counter()
            question_ask(task=tasks[name], question=f"enqueue {i}", non_blocking=True)
            samples[name].append(time.perf_counter() - t0)
        if i % 50 == 49:
            for task in tasks.values():
                question_cancel_for_task(task=task, reason="bench")
    print(json.dumps({name: summary_ms(values) for name, values in samples.items()}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
