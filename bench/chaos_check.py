"""The chaos soak's checker (bench/chaos.py): what every client and settler recorded, against
every question row of the run.

Pure functions over plain data, so tests/bench/test_chaos_check.py can feed it each kind of
violation. The rules (bench/README.md, "Chaos soak"):

- no question created twice for one idempotency key: one row per (task, key), and one row
  per logical ask (its marker in the question text), and every reply of that ask named it;
- each question settled exactly once: no row left pending after the drain, at most one
  settler told 200, and the row's status is that settler's action (answered with its text);
  a row with no 200 must have had a settler whose reply was lost (5xx or transport error);
- every asking client was told exactly that settlement: its last reply's status, response
  and reason are the row's.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

ACTION_STATUS = {"answer": "answered", "decline": "declined", "cancel": "cancelled"}


@dataclass
class AskRecord:
    """One logical ask: every attempt used the same Idempotency-Key."""

    marker: str
    task_id: str
    key: str
    question_ids: set[str] = field(default_factory=set)
    final: dict[str, Any] | None = None
    attempts: int = 0


@dataclass
class SettleRecord:
    """One settler's action on one question: the status of each attempt (0: no reply)."""

    question_id: str
    action: str
    text: str
    statuses: list[int] = field(default_factory=list)


def check(
    asks: list[AskRecord],
    settles: list[SettleRecord],
    rows: list[dict[str, Any]],
    keys: list[dict[str, Any]],
) -> dict[str, Any]:
    """Counts of the run and of each violation (every `violations` entry must be 0)."""
    by_id = {row["id"]: row for row in rows}
    violations: Counter[str] = Counter()
    examples: list[str] = []

    def bad(kind: str, detail: str) -> None:
        violations[kind] += 1
        if len(examples) < 20:
            examples.append(f"{kind}: {detail}")

    per_key = Counter((key["task_id"], key["key"]) for key in keys)
    for (task_id, key), count in per_key.items():
        if count > 1:
            bad("question created twice for one key", f"{task_id} {key}: {count}")
    key_question = {(key["task_id"], key["key"]): key["question_id"] for key in keys}
    per_marker: Counter[str] = Counter()
    for row in rows:
        marker = row["question"].rpartition("#")[2]
        per_marker[marker] += 1
    for ask in asks:
        if per_marker[ask.marker] > 1:
            bad("question created twice for one key", f"{ask.marker}: {per_marker[ask.marker]}")
        question_id = key_question.get((ask.task_id, ask.key))
        if question_id is None:
            if ask.question_ids:
                bad("reply named a question without the key", ask.marker)
            continue
        if ask.question_ids - {question_id}:
            bad("replies named another question", f"{ask.marker}: {sorted(ask.question_ids)}")
        row = by_id[question_id]
        if ask.final is None:
            bad("client never told the settlement", ask.marker)
        elif not _told(ask.final, row):
            bad("client told another settlement", f"{ask.marker}: {ask.final} vs {row['status']}")

    winners: Counter[str] = Counter()
    lost: set[str] = set()
    for settle in settles:
        if 200 in settle.statuses:
            winners[settle.question_id] += 1
            settled = by_id.get(settle.question_id)
            if settled is None or settled["status"] != ACTION_STATUS[settle.action]:
                bad("settled otherwise than the settler was told", settle.question_id)
            elif settle.action == "answer" and settled["response"] != settle.text:
                bad("another answer stored", settle.question_id)
        if any(status == 0 or status >= 500 for status in settle.statuses):
            lost.add(settle.question_id)
    for row in rows:
        if row["status"] == "pending" or row["settled_at"] is None:
            bad("question never settled", row["id"])
        elif winners[row["id"]] > 1:
            bad("settled more than once", f"{row['id']}: {winners[row['id']]} settlers told 200")
        elif winners[row["id"]] == 0 and row["id"] not in lost and row["status"] != "expired":
            bad("settled without a settler", row["id"])

    return {
        "asks": len(asks),
        "ask attempts": sum(ask.attempts for ask in asks),
        "questions": len(rows),
        "settled": dict(Counter(row["status"] for row in rows)),
        "settle actions": len(settles),
        "settle actions told 200": sum(winners.values()),
        "violations": {kind: violations[kind] for kind in sorted(violations)},
        "examples": examples,
    }


def _told(final: dict[str, Any], row: dict[str, Any]) -> bool:
    if final.get("status") != row["status"]:
        return False
    if row["status"] == "answered":
        return final.get("response") == row["response"]
    return final.get("reason") == row["reason"]


def read_rows(database_url: str, task_ids: list[str]) -> tuple[list[dict], list[dict]]:
    """Every question row of these tasks, and their idempotency keys."""
    import psycopg

    with psycopg.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT id::text, question, status, response, reason, settled_at FROM mesh_question "
            "WHERE task_id::text = ANY(%s)",
            [task_ids],
        )
        names = ["id", "question", "status", "response", "reason", "settled_at"]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        cursor.execute(
            "SELECT task_id::text, key, question_id::text FROM mesh_questionidempotencykey "
            "WHERE task_id::text = ANY(%s)",
            [task_ids],
        )
        keys = [dict(zip(["task_id", "key", "question_id"], r, strict=True)) for r in cursor]
    return rows, keys
