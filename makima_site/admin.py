"""Admin pieces the apps share. Secrets never appear in the admin: hashes are not shown, and
a raw token or tool key is shown once, in a message, when it is issued."""

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html


def copy_fields(target: Model, source: Model) -> None:
    """Make the admin's unsaved object the row a service created (for its log and redirect)."""
    for model_field in type(source)._meta.concrete_fields:
        setattr(target, model_field.attname, getattr(source, model_field.attname))
    target._state.adding = False
    target._state.db = source._state.db


def show_once(request: HttpRequest, label: str, raw: str) -> None:
    """Show a new secret in a message, the one time it exists in clear."""
    messages.warning(
        request,
        format_html("{}: <code>{}</code> — shown once; copy it now.", label, raw),
    )


class ReadOnlyInline(admin.TabularInline):
    """Related rows listed on a parent's page, changed only from their own admin."""

    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def bulk_action(
    name: str, description: str, apply: Callable[[QuerySet[Any]], int], done: str
) -> Callable[..., None]:
    """An admin action that applies one bulk service to the selected rows and says how
    many it changed."""

    @admin.action(permissions=["change"], description=description)
    def action(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Any]):
        count = apply(queryset)
        modeladmin.message_user(request, f"{count} order(s) {done}.", messages.SUCCESS)

    action.__name__ = name
    return action
