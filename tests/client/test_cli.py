"""The `makima` command against a real daphne: what it prints and every exit status."""

import json
import os
import pty
import subprocess
import threading
import time

import pytest
from makima_client import MakimaClient

from mesh.models import Question
from orders.models import Order
from tests.client.conftest import MAKIMA, free_port_url

pytestmark = pytest.mark.django_db(transaction=True)


def test_ask_blocks_until_answered_over_rest_and_prints_the_response(mesh):
    """The installed console script, configured by MAKIMA_URL and MAKIMA_TOOL_KEY."""
    answering = mesh.settle_later("answer", {"response": "ship it"})
    result = mesh.cli_process("directive", "ask", "Deploy to production?")
    answering.join(timeout=10)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ship it\n"
    assert result.stderr == ""  # stderr is a pipe: no elapsed line


def test_ask_re_polls_after_still_pending(mesh):
    """The server answers stillPending after 0.3 s; the answer comes after several polls."""

    def slow_answer() -> None:
        question = mesh.wait_for_question()
        time.sleep(1.0)
        reply = mesh.owner_post(
            f"/api/v1/mesh/questions/{question['questionId']}/answer", {"response": "x"}
        )
        assert reply.status_code == 200

    answering = threading.Thread(target=slow_answer, daemon=True)
    answering.start()
    result = mesh.cli("directive", "ask", "Proceed?", "--json")
    answering.join(timeout=10)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["response"] == "x"
    assert Question.objects.count() == 1


def test_json_is_the_whole_outcome_and_multi_select_prints_one_choice_per_line(mesh):
    mesh.settle_later("answer", {"response": json.dumps(["eu", "us"])})
    result = mesh.cli(
        "directive",
        "ask",
        "Regions?",
        "--choice",
        "eu",
        "--choice",
        "us",
        "--choice",
        "ap",
        "--multi-select",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "eu\nus\n"

    mesh.settle_later("answer", {"response": json.dumps(["ap"])})
    result = mesh.cli(
        "directive", "ask", "Again?", "--choice", "eu", "--choice", "ap", "--multi-select", "--json"
    )
    outcome = json.loads(result.stdout)
    question = Question.objects.get(question="Again?")
    assert outcome == {
        "status": "answered",
        "questionId": str(question.id),
        "response": '["ap"]',
        "responses": ["ap"],
        "reason": None,
    }


def test_context_file_dash_reads_stdin(mesh):
    mesh.settle_later("answer", {"response": "ok"})
    result = mesh.cli("directive", "ask", "Merge?", "--context-file", "-", stdin="diff --git a b\n")
    assert result.returncode == 0, result.stderr
    assert Question.objects.get().context == "diff --git a b\n"


def test_declined_exits_3_with_the_reason_on_stderr(mesh):
    mesh.settle_later("decline", {"reason": "ask the on-call"})
    result = mesh.cli("directive", "ask", "Page someone?")
    assert result.returncode == 3
    assert result.stdout == ""
    assert "declined: ask the on-call" in result.stderr


def test_cancelled_exits_4(mesh):
    task = MakimaClient(mesh.url, tool_key=mesh.tool_key)
    canceller = threading.Thread(
        target=lambda: task.cancel(mesh.wait_for_question()["questionId"], reason="done"),
        daemon=True,
    )
    canceller.start()
    result = mesh.cli("directive", "ask", "Still needed?", "--json")
    canceller.join(timeout=20)
    assert result.returncode == 4, result.stderr
    assert json.loads(result.stdout)["status"] == "cancelled"
    assert json.loads(result.stdout)["reason"] == "done"
    asked = json.loads(mesh.cli("directive", "ask", "Other?", "--non-blocking", "--json").stdout)
    cancelled = mesh.cli("directive", "cancel", asked["questionId"], "--reason", "found it")
    assert cancelled.returncode == 0
    assert cancelled.stdout == f"cancelled: {asked['questionId']}\n"


def test_expired_exits_5(make_mesh):
    auto = make_mesh("auto")  # the auto-mode timeout (0.3 s here) withdraws the question
    result = auto.cli("directive", "ask", "Anyone?")
    assert result.returncode == 5
    assert "expired" in result.stderr


def test_still_pending_at_max_wait_exits_6_with_the_id(mesh):
    result = mesh.cli("directive", "ask", "Later?", "--max-wait", "0.8", "--json")
    question = Question.objects.get()
    assert result.returncode == 6
    assert json.loads(result.stdout)["questionId"] == str(question.id)
    assert json.loads(result.stdout)["status"] == "pending"
    assert str(question.id) in result.stderr

    non_blocking = mesh.cli("directive", "ask", "FYI?", "--non-blocking")
    assert non_blocking.returncode == 6
    assert "still pending: " in non_blocking.stderr


def test_validation_and_usage_errors_exit_2_with_the_servers_message(mesh):
    result = mesh.cli("directive", "ask", "Soon?", "--ttl", "5")
    assert result.returncode == 2
    assert "VALIDATION_ERROR" in result.stderr and "ttlSeconds" in result.stderr
    assert mesh.cli("directive", "ask").returncode == 2  # argparse: no QUESTION
    assert mesh.cli("directive", "ask", "x", "--type", "nope").returncode == 2
    assert not Question.objects.exists()


def test_authentication_error_exits_7(mesh):
    result = mesh.cli("directive", "ask", "Hello?", "--tool-key", "mtk_wrong_key")
    assert result.returncode == 7
    assert "UNAUTHORIZED" in result.stderr
    assert mesh.cli("questions", "list", "--token", "mkt_nope").returncode == 7


def test_unreachable_server_exits_8_after_retrying_until_max_wait(mesh):
    result = mesh.cli("--url", free_port_url(), "directive", "ask", "Hello?", "--max-wait", "1")
    assert result.returncode == 8
    assert "UNREACHABLE" in result.stderr


def test_create_order_prints_the_order_id(mesh):
    result = mesh.cli(
        "directive",
        "create-order",
        "--title",
        "Flaky test",
        "--type",
        "chore",
        "--priority",
        "high",
        "--label",
        "ci",
        "--description-file",
        "-",
        stdin="It fails one run in ten.",
    )
    assert result.returncode == 0, result.stderr
    order = Order.objects.get()
    assert result.stdout.strip() == str(order.id)
    assert (order.order_type, order.priority, order.labels) == ("chore", "high", ["ci"])
    assert order.description == "It fails one run in ten."

    again = mesh.cli("directive", "create-order", "--title", "Spike it", "--json")
    assert json.loads(again.stdout)["orderType"] == "spike"


def test_owner_commands_list_answer_decline(mesh):
    asked = mesh.cli("directive", "ask", "First?", "--non-blocking", "--json")
    first = json.loads(asked.stdout)["questionId"]
    second = json.loads(mesh.cli("directive", "ask", "Second?", "--non-blocking", "--json").stdout)[
        "questionId"
    ]
    listing = mesh.cli("questions", "list")
    assert listing.returncode == 0 and first in listing.stdout and "First?" in listing.stdout
    assert {
        item["questionId"] for item in json.loads(mesh.cli("questions", "list", "--json").stdout)
    } == {
        first,
        second,
    }
    assert mesh.cli("questions", "answer", first, "yes").returncode == 0
    assert mesh.cli("questions", "decline", second, "--reason", "no").returncode == 0
    assert json.loads(mesh.cli("directive", "poll", first, "--json").stdout)["response"] == "yes"
    assert mesh.cli("directive", "poll", second).returncode == 3
    again = mesh.cli("questions", "answer", first, "again")
    assert again.returncode == 2 and "ALREADY_ANSWERED" in again.stderr


def test_the_elapsed_line_shows_on_a_terminal_only(mesh):
    mesh.settle_later("answer", {"response": "fine"})
    primary, secondary = pty.openpty()
    env = {**os.environ, "MAKIMA_URL": mesh.url, "MAKIMA_TOOL_KEY": mesh.tool_key}
    process = subprocess.Popen(
        [MAKIMA, "directive", "ask", "Terminal?"],
        stdout=subprocess.PIPE,
        stderr=secondary,
        env=env,
    )
    stdout, _ = process.communicate(timeout=30)
    os.close(secondary)
    shown = os.read(primary, 65536).decode()
    os.close(primary)
    assert process.returncode == 0
    assert stdout == b"fine\n"
    assert "\rwaiting for an answer… 0:00" in shown


def test_flags_override_the_environment(mesh):
    mesh.settle_later("answer", {"response": "via flags"})
    wrong = {"MAKIMA_URL": free_port_url(), "MAKIMA_TOOL_KEY": "mtk_wrong"}
    result = mesh.cli_process(
        "directive", "ask", "Flags?", "--url", mesh.url, "--tool-key", mesh.tool_key, env=wrong
    )
    assert (result.returncode, result.stdout) == (0, "via flags\n")


def test_help_shows_examples(mesh):
    for command in (
        [],
        ["directive"],
        ["directive", "ask"],
        ["directive", "poll"],
        ["directive", "cancel"],
        ["directive", "create-order"],
        ["questions"],
        ["questions", "list"],
        ["questions", "answer"],
        ["questions", "decline"],
        ["questions", "watch"],
        ["mcp"],
    ):
        shown = mesh.cli(*command, "--help")
        assert shown.returncode == 0
        assert "example" in shown.stdout, command
