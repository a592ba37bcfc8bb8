"""The event that closes a credential's feed sockets."""

from mesh.events.publisher import CREDENTIAL_REVOKED_MESSAGE_TYPE, send


def publish_credential_revoked(group: str) -> None:
    """Close the feed sockets authenticated by a revoked token or an ended session."""
    send([(group, {"type": CREDENTIAL_REVOKED_MESSAGE_TYPE})])
