"""The `makima` command: a task's questions and orders (`makima directive …`), the owner's
questions (`makima questions …`) and the MCP server (`makima mcp`).

Exit statuses: 0 answered (or done), 2 usage or validation error, 3 declined, 4 cancelled,
5 expired or timed out, 6 still pending at --max-wait, 7 authentication error, 8 server
unreachable after retries.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from makima_client._base import DEFAULT_URL, __version__
from makima_client._commands import (
    run_answer,
    run_ask,
    run_cancel,
    run_create_order,
    run_decline,
    run_list,
    run_poll,
    run_watch,
)
from makima_client._output import EXIT_AUTH, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE
from makima_client.client import MakimaClient
from makima_client.errors import AuthError, MakimaError, RateLimited, Unavailable

EXIT_STATUSES = """exit status:
  0 answered   2 usage or validation error   3 declined   4 cancelled
  5 expired or timed out   6 still pending at --max-wait (question id on stderr)
  7 authentication error   8 server unreachable after retries"""
ENVIRONMENT = """environment:
  MAKIMA_URL (default http://127.0.0.1:8000), MAKIMA_TOOL_KEY (a task's mtk_… key),
  MAKIMA_TOKEN (an owner's mkt_… token); --url, --tool-key, --token override them."""

EXAMPLES = {
    "makima": """examples:
  export MAKIMA_URL=http://127.0.0.1:8000 MAKIMA_TOOL_KEY=mtk_…
  makima directive ask "Deploy to production?" --choice yes --choice no
  makima directive create-order --title "Flaky test in CI" --type chore
  MAKIMA_TOKEN=mkt_… makima questions list
  makima mcp          # serve the MCP tools over stdio""",
    "ask": """examples:
  makima directive ask "Deploy to production?" --choice yes --choice no
  git diff | makima directive ask "Merge this?" --context-file - --phaseguard
  makima directive ask "Which regions?" --choice eu --choice us --multi-select --json
  makima directive ask "Ready?" --max-wait 60 || echo "status $?\"""",
    "directive": """examples:
  makima directive ask "Deploy to production?" --choice yes --choice no
  makima directive create-order --title "Flaky test in CI" --type chore""",
    "questions": """examples:
  makima questions list
  makima questions answer 3f0c… yes""",
    "poll": """example:
  makima directive poll 3f0c…   # waits up to the server's poll wait""",
    "cancel": """example:
  makima directive cancel 3f0c… --reason "found the answer in the docs\"""",
    "create-order": """examples:
  makima directive create-order --title "Investigate the slow query" --priority high
  echo "details…" | makima directive create-order --title "Upgrade" --type chore \\
      --description-file - --label deps --json""",
    "list": "example:\n  makima questions list --json",
    "answer": 'example:\n  makima questions answer 3f0c… "yes, go ahead"',
    "decline": 'example:\n  makima questions decline 3f0c… --reason "ask the on-call"',
    "watch": "example:\n  makima questions watch --json | jq .type",
    "mcp": """example (.mcp.json):
  {"mcpServers": {"makima": {"command": "makima", "args": ["mcp"],
    "env": {"MAKIMA_URL": "http://127.0.0.1:8000", "MAKIMA_TOOL_KEY": "mtk_…"}}}}""",
}


def _parser(name: str, parent: Any, help_text: str, *, parents: Sequence[Any] = ()) -> Any:
    parser = parent.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=EXAMPLES.get(name),
        parents=list(parents),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    # The connection options work before or after the subcommand.
    connection = argparse.ArgumentParser(add_help=False)
    for flag, env, what in (
        ("--url", "MAKIMA_URL", "the server's base URL"),
        ("--tool-key", "MAKIMA_TOOL_KEY", "a task's tool key (directive and mcp commands)"),
        ("--token", "MAKIMA_TOKEN", "an owner's API token (questions commands)"),
    ):
        connection.add_argument(flag, default=argparse.SUPPRESS, help=f"{what} (env {env})")
    top = argparse.ArgumentParser(
        prog="makima",
        description="Ask a Makima owner from an agent, file orders, answer as the owner.",
        epilog=f"{EXAMPLES['makima']}\n\n{EXIT_STATUSES}\n\n{ENVIRONMENT}",
        parents=[connection],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"makima {__version__}")
    groups = top.add_subparsers(dest="group", required=True, metavar="{directive,questions,mcp}")

    directive = _parser("directive", groups, "a task's questions and orders (tool key)")
    tasks = directive.add_subparsers(dest="command", required=True)
    ask = _parser("ask", tasks, "ask the owner and wait for the answer", parents=[connection])
    ask.epilog = f"{EXAMPLES['ask']}\n\n{EXIT_STATUSES}"
    ask.add_argument("question")
    ask.add_argument("--choice", action="append", default=[], help="a choice (repeatable)")
    ask.add_argument("--multi-select", action="store_true", help="the owner may pick several")
    context = ask.add_mutually_exclusive_group()
    context.add_argument("--context", help="background for the owner")
    context.add_argument("--context-file", metavar="PATH|-", help="read the context from a file")
    ask.add_argument(
        "--type",
        dest="question_type",
        choices=["general", "phase_confirmation", "contract_complete"],
        default="general",
    )
    ask.add_argument("--phaseguard", action="store_true", help="block up to the block wait")
    ask.add_argument("--non-blocking", action="store_true", help="return at once (exit 6)")
    ask.add_argument("--ttl", type=int, metavar="SECONDS", help="how long it may stay pending")
    ask.add_argument("--max-wait", type=float, metavar="SECONDS", help="give up waiting after")
    ask.add_argument("--idempotency-key", metavar="KEY", help="reuse to attach to a question")
    ask.add_argument("--json", action="store_true", help="print the outcome as one JSON object")
    ask.set_defaults(run=run_ask)

    poll = _parser("poll", tasks, "poll a question once", parents=[connection])
    poll.add_argument("question_id")
    poll.add_argument("--json", action="store_true")
    poll.set_defaults(run=run_poll)

    cancel = _parser("cancel", tasks, "withdraw a pending question", parents=[connection])
    cancel.add_argument("question_id")
    cancel.add_argument("--reason")
    cancel.set_defaults(run=run_cancel)

    order = _parser("create-order", tasks, "file a spike or chore order", parents=[connection])
    order.add_argument("--title", required=True)
    description = order.add_mutually_exclusive_group()
    description.add_argument("--description")
    description.add_argument("--description-file", metavar="PATH|-")
    order.add_argument("--type", dest="order_type", choices=["spike", "chore"], default="spike")
    order.add_argument(
        "--priority", choices=["low", "medium", "high", "critical"], default="medium"
    )
    order.add_argument("--label", action="append", default=[], help="a label (repeatable)")
    order.add_argument("--repository-url", metavar="URL")
    order.add_argument("--idempotency-key", metavar="KEY")
    order.add_argument("--json", action="store_true", help="print the whole order")
    order.set_defaults(run=run_create_order)

    questions = _parser("questions", groups, "the owner's questions (owner token)")
    owner = questions.add_subparsers(dest="command", required=True)
    listing = _parser("list", owner, "list your pending questions", parents=[connection])
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=run_list)
    answer = _parser("answer", owner, "answer a pending question", parents=[connection])
    answer.add_argument("question_id")
    answer.add_argument("response")
    answer.set_defaults(run=run_answer)
    decline = _parser("decline", owner, "decline a pending question", parents=[connection])
    decline.add_argument("question_id")
    decline.add_argument("--reason")
    decline.set_defaults(run=run_decline)
    watch = _parser("watch", owner, "print the live feed, one line per event", parents=[connection])
    watch.add_argument("--json", action="store_true", help="JSON lines")
    watch.set_defaults(run=run_watch)

    mcp = _parser("mcp", groups, "serve the MCP tools over stdio", parents=[connection])
    mcp.add_argument(
        "--progress-interval",
        type=float,
        default=float(os.environ.get("MAKIMA_MCP_PROGRESS_SECONDS", "10")),
        metavar="SECONDS",
        help="progress notifications while waiting (default 10; env MAKIMA_MCP_PROGRESS_SECONDS)",
    )
    mcp.set_defaults(run=None)
    return top


def exit_status(error: MakimaError) -> int:
    if isinstance(error, AuthError):
        return EXIT_AUTH
    if isinstance(error, (Unavailable, RateLimited)):
        return EXIT_UNREACHABLE
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    url = getattr(args, "url", None) or os.environ.get("MAKIMA_URL") or DEFAULT_URL
    tool_key = getattr(args, "tool_key", None) or os.environ.get("MAKIMA_TOOL_KEY")
    token = getattr(args, "token", None) or os.environ.get("MAKIMA_TOKEN")
    if args.group == "mcp":
        return run_mcp_server(url, tool_key, args)
    try:
        with MakimaClient(url, tool_key=tool_key, token=token) as client:
            run: Callable[[MakimaClient, argparse.Namespace], int] = args.run
            return run(client, args)
    except MakimaError as error:
        print(f"makima: {error}", file=sys.stderr)
        return exit_status(error)
    except OSError as error:  # an unreadable --context-file, say
        print(f"makima: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def run_mcp_server(url: str, tool_key: str | None, args: argparse.Namespace) -> int:
    from makima_client.mcp_server import serve

    serve(url, tool_key, progress_interval=args.progress_interval)
    return EXIT_OK
