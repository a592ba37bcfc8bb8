"""Writes about owners (Django users) themselves."""

from functools import partial

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction

from mesh.credentials.events import publish_credential_revoked, publish_owner_sockets_closed
from mesh.events.groups import session_group


@transaction.atomic
def owner_create(*, username: str, password: str | None = None, is_superuser: bool = False) -> User:
    """Create an owner (a Django user). Without a password it cannot log in to the browser
    or admin, only use API tokens; a superuser is also staff, so the admin opens for it."""
    User = get_user_model()
    if is_superuser:
        return User.objects.create_superuser(username=username, email="", password=password)
    return User.objects.create_user(username=username, password=password)


@transaction.atomic
def owner_reset_for_demo(*, owner: User, password: str) -> User:
    """The local demo's login must work: an active superuser with this password."""
    owner.set_password(password)
    owner.is_active = owner.is_staff = owner.is_superuser = True
    owner.save(update_fields=["password", "is_active", "is_staff", "is_superuser"])
    return owner


def owner_session_ended(*, session_key: str | None) -> None:
    """A browser session logged out: its feed sockets close (after any open transaction)."""
    if session_key:
        transaction.on_commit(partial(publish_credential_revoked, session_group(session_key)))


def owner_credentials_changed(*, owner_id: int, deactivated: bool, password_changed: bool) -> None:
    """An owner was saved inactive, or with a new password: after commit, close every feed
    socket of a deactivated owner, or the browser-session sockets of one whose password
    changed (Django ends all its sessions then; its API tokens stay valid)."""
    if deactivated:
        transaction.on_commit(partial(publish_owner_sockets_closed, owner_id))
    elif password_changed:
        transaction.on_commit(partial(publish_owner_sockets_closed, owner_id, sessions_only=True))
