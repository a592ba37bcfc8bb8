"""Admin pieces the apps share. Secrets never appear in the admin: hashes are not shown, and
a raw token or tool key is shown once, in a message, when it is issued. OwnerScopedAdmin
(and OwnerScopedRows, for inlines) keep a non-superuser staff member to their own rows."""

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import BaseModelAdmin
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest
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


class OwnerScopedRows(BaseModelAdmin):
    """The rows and choices of OwnerScopedAdmin, for inlines as well (see below)."""

    owner_field = "owner"

    @staticmethod
    def scoped(request: HttpRequest) -> bool:
        """Whether `request`'s staff member is held to their own rows (not a superuser)."""
        return not request.user.is_superuser

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if self.scoped(request):
            queryset = queryset.filter(**{self.owner_field: request.user})
        return queryset

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if self.scoped(request) and "queryset" not in kwargs:
            related = db_field.related_model
            if related is get_user_model():
                kwargs["queryset"] = related._default_manager.filter(pk=request.user.pk)
            elif any(field.name == "owner" for field in related._meta.get_fields()):
                kwargs["queryset"] = related._default_manager.filter(owner=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class OwnerScopedAdmin(OwnerScopedRows, admin.ModelAdmin):
    """An admin that keeps a non-superuser staff member to their own rows.

    They list, open, edit, delete and run actions only on the rows whose `owner_field` is
    themselves: another owner's row is 404, also when an action is posted with its id.
    Every foreign key to a model with an `owner` field offers only their own rows, one to
    the user model only themselves; the owner field is read-only, and a row they add is
    theirs. Superusers see and choose everything. Inlines use OwnerScopedRows.
    """

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if self.scoped(request) and self.owner_field not in fields:
            fields.append(self.owner_field)
        return fields

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> Any:
        obj = super().save_form(request, form, change)
        if self.scoped(request) and not change:
            setattr(obj, self.owner_field, request.user)
        return obj

    def _own_or_404(self, request: HttpRequest, object_id: str | None) -> None:
        if object_id is None or not self.scoped(request):
            return
        if self.get_object(request, unquote(object_id)) is None:
            raise Http404("No such object among yours.")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._own_or_404(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        self._own_or_404(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self._own_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def response_action(self, request, queryset, *args: Any, **kwargs: Any):
        if self.scoped(request) and request.POST.get("select_across") != "1":
            selected = set(request.POST.getlist(helpers.ACTION_CHECKBOX_NAME))
            try:
                own = self.get_queryset(request).filter(pk__in=selected).count()
            except (ValidationError, ValueError):
                own = -1
            if own != len(selected):
                raise Http404("An action may only act on your own objects.")
        return super().response_action(request, queryset, *args, **kwargs)
