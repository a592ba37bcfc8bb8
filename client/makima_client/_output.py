"""What the CLI prints, and its exit statuses."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import TextIO

from makima_client.models import Outcome

EXIT_OK, EXIT_USAGE, EXIT_DECLINED, EXIT_CANCELLED, EXIT_EXPIRED = 0, 2, 3, 4, 5
EXIT_PENDING, EXIT_AUTH, EXIT_UNREACHABLE = 6, 7, 8
EXIT_BY_STATUS = {
    "answered": EXIT_OK,
    "declined": EXIT_DECLINED,
    "cancelled": EXIT_CANCELLED,
    "expired": EXIT_EXPIRED,
    "pending": EXIT_PENDING,
}


def read_text(path: str, stdin: TextIO) -> str:
    if path == "-":
        return stdin.read()
    with open(path, encoding="utf-8") as handle:
        return handle.read()


class Elapsed:
    """The elapsed wait on one refreshing stderr line, on a terminal only."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Elapsed:
        if self.enabled:
            self._thread.start()
        return self

    def _run(self) -> None:
        started = time.monotonic()
        while True:
            seconds = int(time.monotonic() - started)
            self.stream.write(f"\rwaiting for an answer… {seconds // 60}:{seconds % 60:02d}")
            self.stream.flush()
            if self._stop.wait(1.0):
                return

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._stop.set()
            self._thread.join()
            self.stream.write("\r\033[K")
            self.stream.flush()


def print_outcome(outcome: Outcome, as_json: bool) -> int:
    status = EXIT_BY_STATUS.get(outcome.status, EXIT_USAGE)
    if as_json:
        body = outcome.to_dict()
        if outcome.question_id is None and outcome.idempotency_key:
            body["idempotencyKey"] = outcome.idempotency_key
        print(json.dumps(body, ensure_ascii=False))
    elif outcome.status == "answered":
        for line in outcome.responses:
            print(line)
    if outcome.status == "pending":
        if outcome.question_id:
            print(f"still pending: {outcome.question_id}", file=sys.stderr)
        else:
            print(
                "still pending (no reply yet); ask again with --idempotency-key "
                f"{outcome.idempotency_key} to wait on the same question",
                file=sys.stderr,
            )
    elif outcome.status != "answered":
        reason = f": {outcome.reason}" if outcome.reason else ""
        print(f"{outcome.status}{reason}", file=sys.stderr)
    return status
