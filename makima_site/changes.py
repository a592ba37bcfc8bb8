"""State changes as they are written: a signal sent inside the writing transaction.

Services send `state_changed` after a write that owners may want to hear of (a question
asked or settled, an order created or updated). Receivers run in the same transaction, so
what they write (the notify app's outbox rows and worker jobs) commits or rolls back with
the change itself: a process that dies right after commit loses no event. Receivers must
not do I/O; events for open pages still go out after commit (mesh.events.publisher).
"""

from typing import Any

from django.dispatch import Signal

# Sent with `event_type` ("question.asked", "order.updated", …) and `instance` (the row).
state_changed = Signal()


def record_change(event_type: str, instance: Any) -> None:
    """Tell the receivers (inside the current transaction) that `instance` changed."""
    state_changed.send(sender=type(instance), event_type=event_type, instance=instance)
