"""mesh.questions.policy: how long a blocking ask waits, and what happens at the deadline."""

import pytest

from mesh.questions.policy import AskWait, ask_wait

WAITS = {"block_wait_seconds": 300, "auto_timeout_seconds": 30}


@pytest.mark.parametrize(
    ("phaseguard", "mode", "timeout_seconds", "expected"),
    [
        (True, "auto", 7, AskWait(300.0, withdraw_at_deadline=False)),
        (False, "semi-auto", 7, AskWait(300.0, withdraw_at_deadline=False)),
        (False, "manual", 7, AskWait(300.0, withdraw_at_deadline=False)),
        (False, "auto", 7, AskWait(30.0, withdraw_at_deadline=True)),
        (False, "future-mode", 7, AskWait(7.0, withdraw_at_deadline=True)),
        (False, "future-mode", 0, AskWait(1.0, withdraw_at_deadline=True)),
    ],
)
def test_the_wait_of_each_rule(phaseguard, mode, timeout_seconds, expected):
    """phaseguard and semi-auto/manual block, auto times out, other modes use timeoutSeconds."""
    wait = ask_wait(
        phaseguard=phaseguard, reconcile_mode=mode, timeout_seconds=timeout_seconds, **WAITS
    )
    assert wait == expected


def test_the_waits_come_from_the_arguments():
    """The block wait and the auto timeout are the caller's (settings), not constants."""
    assert ask_wait(
        phaseguard=False,
        reconcile_mode="auto",
        timeout_seconds=7,
        block_wait_seconds=1,
        auto_timeout_seconds=12,
    ) == AskWait(12.0, withdraw_at_deadline=True)
