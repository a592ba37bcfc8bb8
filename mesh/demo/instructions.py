"""The block `make run` prints (manage.py demo_setup): where to look, how to sign in, and
three commands that work as printed — a blocking ask as the demo task, the owner's list,
and an answer to the question the ask is waiting on — each with its `makima` CLI
equivalent (configured by MAKIMA_URL, MAKIMA_TOOL_KEY and MAKIMA_TOKEN)."""

import json
import shlex

from mesh.demo.setup import DemoSetup

DEMO_QUESTION = "Ship the demo?"
DEMO_CHOICES = ("yes", "not yet")
DEMO_ANSWER = "yes"
DEMO_SEARCH = "Ship+the+demo"  # the answer command finds the ask's question by its text


def _duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} seconds"


def ask_command(base: str, tool_key: str) -> str:
    body = json.dumps({"question": DEMO_QUESTION, "choices": list(DEMO_CHOICES)})
    return shlex.join(
        [
            "curl",
            "-X",
            "POST",
            f"{base}/api/v1/mesh/supervisor/questions",
            "-H",
            f"X-Makima-Tool-Key: {tool_key}",
            "-H",
            "Content-Type: application/json",
            "-d",
            body,
        ]
    )


def list_command(base: str, api_token: str) -> str:
    return shlex.join(
        ["curl", "-H", f"Authorization: Bearer {api_token}", f"{base}/api/v1/questions/"]
    )


def answer_command(base: str, api_token: str) -> str:
    """Answer the newest pending demo question: its id is looked up first, since the ask
    that created it is still waiting and has not printed it yet."""
    auth = shlex.quote(f"Authorization: Bearer {api_token}")
    newest = shlex.quote(f"{base}/api/v1/questions/?status=pending&search={DEMO_SEARCH}&pageSize=1")
    first_id = shlex.quote('import json,sys; print(json.load(sys.stdin)["results"][0]["id"])')
    lookup = f"$(curl -s -H {auth} {newest} | python3 -c {first_id})"
    body = shlex.quote(json.dumps({"response": DEMO_ANSWER}))
    return (
        f'curl -X POST "{base}/api/v1/questions/{lookup}/answer/" -H {auth} '
        f"-H 'Content-Type: application/json' -d {body}"
    )


def demo_block(
    demo: DemoSetup, *, base: str, credentials_shown: str, block_wait_seconds: float
) -> str:
    done = "; ".join(demo.changes) if demo.changes else "nothing new (all in place)"
    choices = " ".join(f"--choice {shlex.quote(choice)}" for choice in DEMO_CHOICES)
    wait = _duration(block_wait_seconds)
    lines = [
        "",
        f"== Makima mesh demo: open {base}/questions/",
        f"   login {demo.username}   password {demo.password}",
        "",
        f"1. Ask a question as the demo task. It blocks until you answer it, on the page or "
        f"with 3 (at most {wait}: then it returns stillPending: true and you poll):",
        "",
        ask_command(base, demo.tool_key),
        f"   or: makima directive ask {shlex.quote(DEMO_QUESTION)} {choices}",
        "",
        "2. List your questions (every status, newest first):",
        "",
        list_command(base, demo.api_token),
        "   or: makima questions list",
        "",
        f"3. Answer the question 1 is waiting on; 1 returns at once with {DEMO_ANSWER!r}:",
        "",
        answer_command(base, demo.api_token),
        f"   or: makima questions answer QUESTION_ID {DEMO_ANSWER}   (the id from the list)",
        "",
        "   The makima CLI is configured by:",
        f"   export MAKIMA_URL={shlex.quote(base)} MAKIMA_TOOL_KEY={shlex.quote(demo.tool_key)}"
        f" MAKIMA_TOKEN={shlex.quote(demo.api_token)}",
        "",
        f"   Admin {base}/admin/ (same login) · API docs {base}/api/docs/",
        f"   API token {demo.api_token} · tool key {demo.tool_key}"
        f" (task {demo.task.name!r} of directive {demo.directive.title!r})",
        f"   Secrets kept in {credentials_shown} (local only). This run: {done}.",
        "",
    ]
    return "\n".join(lines)
