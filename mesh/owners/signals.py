"""Receivers of Django's signals (connected in MeshConfig.ready)."""

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from mesh.owners import services


@receiver(user_logged_out, dispatch_uid="mesh.close_feed_sockets_of_ended_session")
def close_feed_sockets_of_ended_session(sender, request, user, **kwargs):
    """Logging out ends the session's live feed sockets too (Django sends this signal before
    it flushes the session, so the key is still there)."""
    session = getattr(request, "session", None)
    services.owner_session_ended(session_key=getattr(session, "session_key", None))
