"""Admin for API tokens, and the owners' user page with their tokens."""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from makima_site.admin import OwnerScopedAdmin, ReadOnlyInline, copy_fields, show_once
from mesh.credentials import services
from mesh.models import ApiToken

User = get_user_model()


@admin.register(ApiToken)
class ApiTokenAdmin(OwnerScopedAdmin):
    """API tokens; a non-superuser staff owner sees, makes (for themselves only) and revokes
    only their own."""

    list_display = ["__str__", "owner", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["owner"]
    search_fields = ["name", "prefix", "owner__username"]
    autocomplete_fields = ["owner"]
    fields = ["owner", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        fields = [name for name in super().get_readonly_fields(request, obj) if name != "owner"]
        return fields if obj is None and not self.scoped(request) else ["owner", *fields]

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the record stays for audit

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        token, raw = services.api_token_create(owner=obj.owner, name=obj.name)
        copy_fields(obj, token)
        show_once(request, f"API token for {obj.owner}", raw)

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke(self, request, queryset):
        revoked = 0
        for token in queryset.filter(revoked_at=None):
            services.api_token_revoke(token=token)
            revoked += 1
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)


class ApiTokenInline(ReadOnlyInline):
    """The user's tokens on the user page (read-only; revoke them from the token list)."""

    model = ApiToken
    readonly_fields = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    fields = tuple(readonly_fields)


class OwnerAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, ApiTokenInline]


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, OwnerAdmin)
