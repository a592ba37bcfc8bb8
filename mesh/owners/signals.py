"""Receivers of Django's signals (connected in MeshConfig.ready): ending a credential closes
the feed sockets it opened.

- Logging out closes the session's sockets.
- Saving an owner inactive closes all of its sockets (token or session), in every process.
- Saving an owner with a new password closes its session sockets (a password change ends
  every session of the owner; the page that changed it reconnects with its new cookie).

The user's previous is_active and password are read in pre_save (one query, skipped for
saves that name other update_fields, such as the last_login update at each login) and
compared in post_save. A queryset .update() sends no signal: deactivate owners by saving
them (the admin does).
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from mesh.owners import services

User = get_user_model()
_WATCHED_FIELDS = frozenset({"is_active", "password"})
_BEFORE = "_mesh_credentials_before_save"


@receiver(user_logged_out, dispatch_uid="mesh.close_feed_sockets_of_ended_session")
def close_feed_sockets_of_ended_session(sender, request, user, **kwargs):
    """Logging out ends the session's live feed sockets too (Django sends this signal before
    it flushes the session, so the key is still there)."""
    session = getattr(request, "session", None)
    services.owner_session_ended(session_key=getattr(session, "session_key", None))


@receiver(pre_save, sender=User, dispatch_uid="mesh.remember_owner_credentials")
def remember_owner_credentials(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or instance.pk is None:
        return
    if update_fields is not None and not _WATCHED_FIELDS & set(update_fields):
        return
    before = sender._default_manager.filter(pk=instance.pk).values("is_active", "password")
    setattr(instance, _BEFORE, before.first())


@receiver(post_save, sender=User, dispatch_uid="mesh.close_feed_sockets_of_changed_owner")
def close_feed_sockets_of_changed_owner(sender, instance, created=False, **kwargs):
    before = instance.__dict__.pop(_BEFORE, None)
    if created or before is None:
        return
    services.owner_credentials_changed(
        owner_id=instance.pk,
        deactivated=before["is_active"] and not instance.is_active,
        password_changed=before["password"] != instance.password,
    )
