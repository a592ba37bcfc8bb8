"""Channel-layer group names: who hears an event."""

import hashlib
from typing import Any


def owner_group(owner_id: Any) -> str:
    """The owner's live feed sockets."""
    return f"mesh.owner.{owner_id}"


def token_group(token_id: Any) -> str:
    """The feed sockets opened with one API token (closed when it is revoked)."""
    return f"mesh.token.{token_id}"


def session_group(session_key: str) -> str:
    """The feed sockets of one browser session (closed at logout). The session key is a
    secret: the group (a Redis key) is named by its hash."""
    return f"mesh.session.{hashlib.sha256(session_key.encode()).hexdigest()[:40]}"
