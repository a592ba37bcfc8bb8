"""The events that close feed sockets when a credential ends."""

from typing import Any

from mesh.events.groups import owner_group
from mesh.events.publisher import CREDENTIAL_REVOKED_MESSAGE_TYPE, send

# A credential.revoked message with this key set closes only the sockets that a browser
# session authenticated (token sockets stay open).
SESSIONS_ONLY_KEY = "sessions_only"


def publish_credential_revoked(group: str) -> None:
    """Close the feed sockets authenticated by a revoked token or an ended session."""
    send([(group, {"type": CREDENTIAL_REVOKED_MESSAGE_TYPE})])


def publish_owner_sockets_closed(owner_id: Any, *, sessions_only: bool = False) -> None:
    """Close every feed socket of the owner (deactivated), or only the ones its browser
    sessions opened (its password changed, which ends all its sessions)."""
    message: dict[str, Any] = {"type": CREDENTIAL_REVOKED_MESSAGE_TYPE}
    if sessions_only:
        message[SESSIONS_ONLY_KEY] = True
    send([(owner_group(owner_id), message)])
