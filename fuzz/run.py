"""`make fuzz`: schemathesis over every operation of /api/schema/ against a real daphne.

1. migrate the configured database (DATABASE_URL, else a throwaway SQLite file);
2. create an owner with an API token (manage.py create_api_token --create-user) and a
   directive task with a tool key (the services, through manage.py shell);
3. start daphne on a free port with tiny MESH_* waits and throttles off;
4. run schemathesis (positive + negative data) with the reliability checks, bounded by
   examples per operation and a total time budget; both credentials come from
   fuzz/schemathesis.toml;
5. stop daphne. The exit status is schemathesis' (non-zero on any failure).

Options: --max-examples N, --max-time SECONDS, --seed N, and anything after `--` goes to
`schemathesis run` unchanged.
"""

import argparse
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
}

FUZZ_OWNER = "fuzz-owner"
# A semi-auto directive: its asks block (MESH_BLOCK_WAIT_SECONDS) then answer stillPending.
TASK_SCRIPT = f"""
from django.contrib.auth import get_user_model
from directives.models import Directive
from mesh.tasks import services as task_services

owner = get_user_model().objects.get(username="{FUZZ_OWNER}")
directive = Directive.objects.create(
    owner=owner, title="Fuzz", goal="Fuzz the API", reconcile_mode="semi-auto"
)
_, tool_key = task_services.task_create(owner=owner, name="fuzz", directive=directive)
print(tool_key)
"""


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

    token = last_line("create_api_token", FUZZ_OWNER, "--create-user", "--name", "fuzz")
    tool_key = last_line("shell", "-c", TASK_SCRIPT)

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
        fuzz_env = {
            **os.environ,
            "MESH_FUZZ_TOKEN": token,
            "MESH_FUZZ_TOOL_KEY": tool_key,
        }
        # The run itself is bounded by --max-time; this only guards against a hang.
        result = subprocess.run(command, env=fuzz_env, cwd=ROOT, timeout=args.max_time + 120)
        return result.returncode
    finally:
        stop(server)
        report_server_errors(log_path)
        scratch.cleanup()


if __name__ == "__main__":
    sys.exit(main())
