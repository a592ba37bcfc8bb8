"""The timeout policy of an ask, as pure functions (docs/architecture.md, "The contract").

- nonBlocking → 200 at once, response null;
- phaseguard, or a semi-auto/manual directive → wait the block wait
  (MESH_BLOCK_WAIT_SECONDS), then 200 stillPending (the question stays pending; the client
  re-polls);
- an auto directive → wait the auto timeout (MESH_AUTO_TIMEOUT_SECONDS), then withdraw the
  question and answer 408 timedOut — unless an answer won the race, which is then returned
  with 200;
- any other mode → wait timeoutSeconds (at least 1 s), then as for auto.
A poll waits MESH_POLL_WAIT_SECONDS for a pending question; a withdrawn question is 404 to
a poll, like an unknown one.
"""

from dataclasses import dataclass

from directives.models import Directive


@dataclass(frozen=True)
class AskWait:
    """How long a blocking ask waits, and whether its question is withdrawn at the end."""

    seconds: float
    withdraw_at_deadline: bool


def ask_wait(
    *,
    phaseguard: bool,
    reconcile_mode: str,
    timeout_seconds: int,
    block_wait_seconds: float,
    auto_timeout_seconds: float,
) -> AskWait:
    """The wait of a blocking ask (a non-blocking one does not wait at all)."""
    modes = Directive.ReconcileMode
    if phaseguard or reconcile_mode in (modes.SEMI_AUTO, modes.MANUAL):
        return AskWait(float(block_wait_seconds), withdraw_at_deadline=False)
    if reconcile_mode == modes.AUTO:
        return AskWait(float(auto_timeout_seconds), withdraw_at_deadline=True)
    return AskWait(float(max(1, timeout_seconds)), withdraw_at_deadline=True)
