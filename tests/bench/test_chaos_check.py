"""The chaos soak's checker (bench/chaos_check.py) on hand-made records: a clean run passes,
and each kind of violation is counted."""

import copy
from datetime import UTC, datetime

from bench.chaos_check import AskRecord, SettleRecord, check

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def clean_run():
    asks = [
        AskRecord(
            marker="m1",
            task_id="t",
            key="k1",
            question_ids={"q1"},
            final={"questionId": "q1", "status": "answered", "response": "yes", "reason": None},
            attempts=2,
        ),
        AskRecord(
            marker="m2",
            task_id="t",
            key="k2",
            question_ids={"q2"},
            final={"questionId": "q2", "status": "declined", "response": None, "reason": "no"},
            attempts=1,
        ),
    ]
    settles = [
        SettleRecord(question_id="q1", action="answer", text="yes", statuses=[502, 200]),
        SettleRecord(question_id="q2", action="decline", text="no", statuses=[200]),
    ]
    rows = [
        {"id": "q1", "question": "Chaos ask #m1", "status": "answered", "response": "yes"},
        {"id": "q2", "question": "Chaos ask #m2", "status": "declined", "reason": "no"},
    ]
    for row in rows:
        row.setdefault("response", None)
        row.setdefault("reason", None)
        row["settled_at"] = NOW
    keys = [
        {"task_id": "t", "key": "k1", "question_id": "q1"},
        {"task_id": "t", "key": "k2", "question_id": "q2"},
    ]
    return asks, settles, rows, keys


def test_a_clean_run_has_no_violations():
    result = check(*clean_run())
    assert result["violations"] == {}
    assert result["settled"] == {"answered": 1, "declined": 1}
    assert result["ask attempts"] == 3


def test_a_second_question_for_one_ask_is_counted():
    asks, settles, rows, keys = clean_run()
    rows.append({**copy.deepcopy(rows[0]), "id": "q3"})
    assert check(asks, settles, rows, keys)["violations"] == {
        "question created twice for one key": 1,
        "settled without a settler": 1,
    }


def test_two_settlers_told_200_for_one_question_is_counted():
    asks, settles, rows, keys = clean_run()
    settles.append(SettleRecord(question_id="q1", action="answer", text="yes", statuses=[200]))
    assert check(asks, settles, rows, keys)["violations"] == {"settled more than once": 1}


def test_a_client_told_another_answer_is_counted():
    asks, settles, rows, keys = clean_run()
    asks[0].final = {**asks[0].final, "response": "something else"}
    assert check(asks, settles, rows, keys)["violations"] == {"client told another settlement": 1}


def test_a_pending_question_and_a_client_never_told_are_counted():
    asks, settles, rows, keys = clean_run()
    rows[1].update(status="pending", reason=None, settled_at=None)
    asks[1].final = None
    settles.pop()
    assert check(asks, settles, rows, keys)["violations"] == {
        "client never told the settlement": 1,
        "question never settled": 1,
    }


def test_a_settlement_whose_200_was_lost_is_not_a_violation():
    """The settler's reply died with its process (502), its retry found it settled (409)."""
    asks, settles, rows, keys = clean_run()
    settles[0].statuses = [502, 409]
    assert check(asks, settles, rows, keys)["violations"] == {}
