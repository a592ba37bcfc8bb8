"""`make fuzz`: schemathesis over every operation of /api/schema/ against a real daphne.

1. migrate the configured database (DATABASE_URL, else a throwaway SQLite file) and remove
   an earlier run's fuzz owner (with everything it owned);
2. create an owner with an API token (manage.py create_api_token --create-user) and a
   directive task with a tool key (the services, through manage.py shell);
3. start daphne on a free port with tiny MESH_* waits and throttles off;
4. run schemathesis (positive + negative data) with the reliability checks, bounded by
   examples per operation and a total time budget; both credentials come from
   fuzz/schemathesis.toml, real ids from fuzz/hooks.py and the schema's OpenAPI links;
5. print, per operation, how many requests reached a 2xx (fuzz/report.py);
6. send every operation the wrong kinds of credential (fuzz/credentials.py);
7. stop daphne.

The run fails when schemathesis fails (including its warnings that an operation only got
401/403, mostly 404 or mostly rejected valid data: `warnings.fail-on` in
fuzz/schemathesis.toml), when an operation of the schema never answered 2xx, or when a
wrong credential was not refused.

Options: --max-examples N, --max-time SECONDS, --seed N, and anything after `--` goes to
`schemathesis run` unchanged.
"""

import argparse
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ASGI_APPLICATION = "makima_site.asgi:application"
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)
# Blocking endpoints return within these, so thousands of generated asks stay fast.
SERVER_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "fuzz-" + "x" * 60,
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "0",
    "MESH_BLOCK_WAIT_SECONDS": "0.2",
    "MESH_AUTO_TIMEOUT_SECONDS": "0.2",
    "MESH_POLL_WAIT_SECONDS": "0.2",
    # Throttles would turn most generated requests into 429s and hide the endpoints.
    "THROTTLE_ASK_RATE": "off",
    "THROTTLE_ANSWER_RATE": "off",
    "THROTTLE_TOKEN_CREATE_RATE": "off",
    "THROTTLE_AUTH_FAILURE_RATE": "off",
    "LOG_LEVEL": "WARNING",
    # fuzz/hooks.py asks a question for each call that settles one: far more than a task's
    # usual cap on pending questions.
    "MESH_MAX_PENDING_PER_TASK": "1000000",
}

FUZZ_OWNER = "fuzz-owner"
# A semi-auto directive: its asks block (MESH_BLOCK_WAIT_SECONDS) then answer stillPending.
TASK_SCRIPT = f"""
import json
from django.contrib.auth import get_user_model
from directives.models import Directive
from mesh.models import ApiToken
from mesh.tasks import services as task_services

owner = get_user_model().objects.get(username="{FUZZ_OWNER}")
directive = Directive.objects.create(
    owner=owner, title="Fuzz", goal="Fuzz the API", reconcile_mode="semi-auto"
)
task, tool_key = task_services.task_create(owner=owner, name="fuzz", directive=directive)
token = ApiToken.objects.filter(owner=owner).latest("created_at")  # the one just made
print(json.dumps({{"tool_key": tool_key, "ids": [str(task.pk), str(directive.pk), str(token.pk)]}}))
"""
# Each run starts with no fuzz owner (the database may hold an earlier run's).
RESET_SCRIPT = f"""
from django.contrib.auth import get_user_model

get_user_model().objects.filter(username="{FUZZ_OWNER}").delete()
print("reset")
"""
# A session of the fuzz owner, as the page has one (fuzz/credentials.py uses it).
SESSION_SCRIPT = f"""
from django.contrib.auth import get_user_model
from django.test import Client

client = Client()
client.force_login(get_user_model().objects.get(username="{FUZZ_OWNER}"))
print(client.cookies["sessionid"].value)
"""


def load_module(name: str):
    spec = importlib.util.spec_from_file_location(f"fuzz_{name}", ROOT / "fuzz" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def schema_operations(schema: dict) -> list[str]:
    methods = {"get", "put", "post", "delete", "patch"}
    return sorted(
        f"{method.upper()} {path}"
        for path, item in schema["paths"].items()
        for method in item
        if method in methods
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(base_url: str, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"daphne exited with status {process.returncode} at start")
        try:
            with urllib.request.urlopen(f"{base_url}/api/schema/", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"daphne did not answer at {base_url} within {timeout:.0f} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def report_server_errors(log_path: Path) -> None:
    """Print each distinct exception daphne logged (the full log stays in fuzz/daphne.log)."""
    seen: Counter[str] = Counter()
    in_traceback = False
    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith("Traceback"):
            in_traceback = True
        elif in_traceback and line and not line.startswith((" ", "During", "The above")):
            seen[line] += 1
            in_traceback = False
    if seen:
        print(f"daphne logged {sum(seen.values())} exception(s), see {log_path}:", file=sys.stderr)
        for line, count in seen.most_common(20):
            print(f"  {count} x {line}", file=sys.stderr)


def judge(
    returncode: int, base_url: str, events: Path, token: str, tool_key: str, session_id: str
) -> int:
    """Steps 5 and 6 of the module docstring; non-zero when anything failed."""
    with urllib.request.urlopen(f"{base_url}/api/schema/?format=json", timeout=10) as response:
        schema = json.load(response)
    operations = schema_operations(schema)
    report = load_module("report")
    if events.exists():
        for line in events.read_text().splitlines():
            if '"FatalError"' in line:
                print(line[:4000], file=sys.stderr)
    reached = report.count(events) if events.exists() else {}
    report.print_table(reached, operations)
    unreached = report.unreached(reached, operations)
    for operation in unreached:
        print(f"FAIL: {operation} never answered 2xx", file=sys.stderr)

    hooks = load_module("hooks")
    credentials = load_module("credentials")

    def real_path(method: str, path: str) -> str | None:
        if "{" not in path:
            return path
        values = hooks.fill_path(path, method)
        if values is None:
            return None
        for name, value in values.items():
            path = path.replace("{" + name + "}", value)
        return path

    creds = credentials.Credentials(token=token, tool_key=tool_key, session_id=session_id)
    ran, refused_wrongly = credentials.check(base_url, schema, creds, real_path)
    print(f"\nwrong credentials: {ran} probes, {len(refused_wrongly)} failed")
    for failure in refused_wrongly:
        print(f"FAIL: {failure}", file=sys.stderr)
    if returncode == 0 and (unreached or refused_wrongly):
        return 1
    return returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=40)
    parser.add_argument("--max-time", type=int, default=360, help="total seconds for the run")
    parser.add_argument("--seed", type=int)
    parser.add_argument("extra", nargs="*", help="more `schemathesis run` arguments")
    args = parser.parse_args()

    env = {**os.environ, **SERVER_ENV}
    scratch = tempfile.TemporaryDirectory(prefix="makima-fuzz-")
    if not env.get("DATABASE_URL"):
        env["SQLITE_PATH"] = str(Path(scratch.name) / "fuzz.sqlite3")
    python = str(BIN / "python")
    manage = [python, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, cwd=ROOT, check=True)

    def last_line(*command: str) -> str:
        done = subprocess.run(
            [*manage, *command], env=env, cwd=ROOT, check=True, capture_output=True, text=True
        )
        return done.stdout.strip().splitlines()[-1]

    last_line("shell", "-c", RESET_SCRIPT)
    token = last_line("create_api_token", FUZZ_OWNER, "--create-user", "--name", "fuzz")
    seeded = json.loads(last_line("shell", "-c", TASK_SCRIPT))
    tool_key = seeded["tool_key"]
    session_id = last_line("shell", "-c", SESSION_SCRIPT)

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = ROOT / "fuzz" / "daphne.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), ASGI_APPLICATION],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_up(base_url, server)
        command = [
            str(BIN / "schemathesis"),
            "--config-file",
            str(ROOT / "fuzz" / "schemathesis.toml"),
            "run",
            f"{base_url}/api/schema/",
            "--checks",
            CHECKS,
            "--mode",
            "all",
            "--max-examples",
            str(args.max_examples),
            "--max-time",
            str(args.max_time),
            "--request-timeout",
            "10",
            # One worker: CPython 3.11's ast module is not thread-safe ("AST constructor
            # recursion depth mismatch" in hypothesis' lambda descriptions with two).
            "--workers",
            "1",
            *(["--seed", str(args.seed)] if args.seed is not None else []),
            *args.extra,
        ]
        events = Path(scratch.name) / "events.ndjson"
        command += ["--report", "ndjson", "--report-ndjson-path", str(events)]
        fuzz_env = {
            "MESH_FUZZ_TOKEN": token,
            "MESH_FUZZ_TOOL_KEY": tool_key,
            "MESH_FUZZ_BASE_URL": base_url,
            # The objects behind the fuzz credentials: never updated or deleted (fuzz/hooks.py).
            "MESH_FUZZ_PROTECTED": ",".join(seeded["ids"]),
            "SCHEMATHESIS_HOOKS": str(ROOT / "fuzz" / "hooks.py"),
        }
        os.environ.update(fuzz_env)
        # The run itself is bounded by --max-time; this only guards against a hang.
        result = subprocess.run(
            command, env=dict(os.environ), cwd=ROOT, timeout=args.max_time + 120
        )
        return judge(result.returncode, base_url, events, token, tool_key, session_id)
    finally:
        stop(server)
        report_server_errors(log_path)
        scratch.cleanup()


if __name__ == "__main__":
    sys.exit(main())
