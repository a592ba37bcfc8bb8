"""Seed a private fault-test database: `python -m tests.faults.seed '<json spec>'`.

Run as a subprocess with DATABASE_URL pointing at the private cluster (the test process's
own Django is connected to pytest-django's database). Prints JSON: the owner's raw token,
the directive id and one raw tool key per task.
"""

import json
import os
import sys
import uuid


def main() -> None:
    spec = json.loads(sys.argv[1])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "makima_site.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from directives.models import Directive
    from mesh.credentials import services as credential_services
    from mesh.tasks import services as task_services

    owner = get_user_model().objects.create_user(username=f"fault-{uuid.uuid4().hex[:12]}")
    _, token = credential_services.api_token_create(owner=owner, name="faults")
    directive = Directive.objects.create(
        owner=owner,
        title="Fault drill",
        goal="Survive the outage",
        reconcile_mode=spec.get("mode", Directive.ReconcileMode.SEMI_AUTO),
    )
    keys = [
        task_services.task_create(owner=owner, name=f"task-{index}", directive=directive)[1]
        for index in range(spec.get("tasks", 1))
    ]
    print(json.dumps({"token": token, "directive": str(directive.id), "keys": keys}))


if __name__ == "__main__":
    main()
