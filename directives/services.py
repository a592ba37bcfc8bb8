"""Writes of the directives app."""

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from directives.models import Directive

_EDITABLE_FIELDS = {"title", "goal", "reconcile_mode", "repository_url", "status"}


@transaction.atomic
def directive_create(
    *,
    owner: User,
    title: str,
    goal: str = "",
    reconcile_mode: str = Directive.ReconcileMode.AUTO,
    repository_url: str | None = None,
    status: str = Directive.Status.ACTIVE,
) -> Directive:
    directive = Directive(
        owner=owner,
        title=title,
        goal=goal,
        reconcile_mode=reconcile_mode,
        repository_url=repository_url or None,
        status=status,
    )
    directive.full_clean(exclude=["owner"], validate_unique=False)
    directive.save()
    return directive


@transaction.atomic
def directive_update(*, directive: Directive, **fields: Any) -> Directive:
    """Change the given editable fields (the caller's serializer has validated them)."""
    unknown = set(fields) - _EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"directive_update() cannot change {sorted(unknown)}")
    if "repository_url" in fields:
        fields["repository_url"] = fields["repository_url"] or None
    for name, value in fields.items():
        setattr(directive, name, value)
    directive.full_clean(exclude=["owner"], validate_unique=False)
    directive.save(update_fields=[*fields, "updated_at"])
    return directive


@transaction.atomic
def directive_delete(*, directive: Directive) -> None:
    """Delete a directive; its tasks stay, detached (they can no longer use tool-key endpoints)."""
    directive.delete()
