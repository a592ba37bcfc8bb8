"""DATABASE_URL=sqlite:///… gets the embedded default's SQLite options (WAL, IMMEDIATE
transactions, a 20 s busy timeout; makima_site/settings_data.py): 50 answers at once through
a real daphne on such a file all succeed (on main several failed with "database is
locked")."""

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.conf import settings

from tests.live_daphne import ROOT, DaphneServer
from tests.makima_site.test_settings import clean_env

pytestmark = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql",
    reason="needs no database of the suite's: runs once, in the SQLite pass",
)

ANSWERS = 50
SEED = """
import json
from tests import factories
from directives.models import Directive
owner = factories.make_owner("sqlite-url")
token = factories.make_token(owner)
directive = factories.make_directive(owner, reconcile_mode=Directive.ReconcileMode.MANUAL)
task, _ = factories.make_task(owner, directive)
ids = [str(factories.make_question(task).id) for _ in range(ANSWERS)]
print(json.dumps({"token": token, "questions": ids}))
""".replace("ANSWERS", str(ANSWERS))


def run_manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_database_url_sqlite_gets_the_embedded_options(tmp_path):
    """The settings a DATABASE_URL=sqlite:/// process runs with: the project's backend,
    IMMEDIATE transactions, the busy timeout and the WAL journal."""
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'url.sqlite3'}")
    script = (
        "from django.conf import settings; from django.db import connection; "
        "db = settings.DATABASES['default']; "
        "print(db['ENGINE'], db['OPTIONS']['transaction_mode'], db['OPTIONS']['timeout'], "
        "connection.cursor().execute('PRAGMA journal_mode').fetchone()[0])"
    )
    out = run_manage(env, "shell", "-c", script).strip().splitlines()[-1]
    assert out.split() == ["makima_site.sqlite", "IMMEDIATE", "20", "wal"]


def test_fifty_concurrent_answers_on_a_database_url_sqlite_file(tmp_path):
    """50 answers posted at once to a daphne on DATABASE_URL=sqlite:///…: 50 × 200, and
    no "database is locked" in its log."""
    env = clean_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'url.sqlite3'}",
        DEBUG="true",
        PYTHONUNBUFFERED="1",
        THROTTLE_ANSWER_RATE="off",
    )
    run_manage(env, "migrate", "--noinput")
    seeded = json.loads(run_manage(env, "shell", "-c", SEED).strip().splitlines()[-1])
    server = DaphneServer("sqlite-url", env)
    try:
        headers = {"Authorization": f"Bearer {seeded['token']}"}

        def answer(question_id: str) -> int:
            response = httpx.post(
                f"{server.base_url}/api/v1/mesh/questions/{question_id}/answer",
                json={"response": "yes"},
                headers=headers,
                timeout=60,
            )
            return response.status_code

        with ThreadPoolExecutor(max_workers=ANSWERS) as pool:
            statuses = list(pool.map(answer, seeded["questions"]))
    finally:
        server.stop()
    assert statuses == [200] * ANSWERS
    assert "database is locked" not in server.log_path.read_text()
