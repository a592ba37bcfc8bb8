"""The CLI's commands: each takes the client and the parsed arguments, returns the exit
status."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from makima_client._output import EXIT_BY_STATUS, EXIT_OK, Elapsed, print_outcome, read_text
from makima_client.client import MakimaClient
from makima_client.errors import NotFound


def run_ask(client: MakimaClient, args: argparse.Namespace) -> int:
    context = args.context
    if args.context_file is not None:
        context = read_text(args.context_file, sys.stdin)
    with Elapsed(sys.stderr):
        outcome = client.ask(
            args.question,
            choices=args.choice,
            context=context,
            multi_select=args.multi_select,
            phaseguard=args.phaseguard,
            non_blocking=args.non_blocking,
            question_type=args.question_type,
            ttl_seconds=args.ttl,
            max_wait=args.max_wait,
            idempotency_key=args.idempotency_key,
        )
    return print_outcome(outcome, args.json)


def run_poll(client: MakimaClient, args: argparse.Namespace) -> int:
    try:
        with Elapsed(sys.stderr):
            outcome = client.poll(args.question_id)
    except NotFound as error:
        # A poll answers 404 for an unknown question and for an expired one.
        print(f"makima: {error} (unknown or expired)", file=sys.stderr)
        return EXIT_BY_STATUS["expired"]
    return print_outcome(outcome, args.json)


def run_cancel(client: MakimaClient, args: argparse.Namespace) -> int:
    outcome = client.cancel(args.question_id, args.reason)
    print(f"{outcome.status}: {outcome.question_id}")
    return EXIT_OK


def run_create_order(client: MakimaClient, args: argparse.Namespace) -> int:
    description = args.description
    if args.description_file is not None:
        description = read_text(args.description_file, sys.stdin)
    order = client.create_order(
        args.title,
        description=description,
        order_type=args.order_type,
        priority=args.priority,
        labels=args.label,
        repository_url=args.repository_url,
        idempotency_key=args.idempotency_key,
    )
    print(json.dumps(order, ensure_ascii=False) if args.json else order.get("id"))
    return EXIT_OK


def run_list(client: MakimaClient, args: argparse.Namespace) -> int:
    items = client.pending()
    if args.json:
        print(json.dumps(items, ensure_ascii=False))
        return EXIT_OK
    for item in items:
        choices = f"  [{' | '.join(item['choices'])}]" if item.get("choices") else ""
        print(f"{item['questionId']}  {item.get('taskName', '')}: {item['question']}{choices}")
    return EXIT_OK


def run_answer(client: MakimaClient, args: argparse.Namespace) -> int:
    client.answer(args.question_id, args.response)
    return EXIT_OK


def run_decline(client: MakimaClient, args: argparse.Namespace) -> int:
    client.decline(args.question_id, args.reason)
    return EXIT_OK


def event_line(event: dict[str, Any]) -> list[str]:
    """The text lines of one feed event."""
    kind = str(event.get("type"))
    if kind == "snapshot":
        return [
            f"pending {item.get('questionId')} {item.get('question')}"
            for item in event.get("questions", [])
        ]
    if kind == "question.asked":
        question = event.get("question") or {}
        return [f"{kind} {question.get('questionId')} {question.get('question')}"]
    if kind == "question.answered":
        return [f"{kind} {event.get('questionId')} {event.get('response')}"]
    if kind == "pong":
        return []
    detail = event.get("reason") or event.get("message") or ""
    return [f"{kind} {event.get('questionId', '')} {detail}".rstrip()]


def run_watch(client: MakimaClient, args: argparse.Namespace) -> int:
    for event in client.watch():
        lines = [json.dumps(event, ensure_ascii=False)] if args.json else event_line(event)
        for line in lines:
            print(line, flush=True)
    return EXIT_OK
