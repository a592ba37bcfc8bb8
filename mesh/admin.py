"""Admin for tokens and tasks. Secrets never appear here: hashes are not shown, and a raw
token or tool key is shown once, in a message, when it is issued."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.html import format_html

from directives.admin import DirectiveAdmin
from mesh import services
from mesh.models import ApiToken, Task

User = get_user_model()


def _copy_fields(target, source) -> None:
    """Make the admin's unsaved object the row a service created (for its log and redirect)."""
    for model_field in type(source)._meta.concrete_fields:
        setattr(target, model_field.attname, getattr(source, model_field.attname))
    target._state.adding = False
    target._state.db = source._state.db


def _show_once(request, label: str, raw: str) -> None:
    messages.warning(
        request,
        format_html("{}: <code>{}</code> — shown once; copy it now.", label, raw),
    )


# --- API tokens -----------------------------------------------------------------------------
@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["__str__", "owner", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["owner"]
    search_fields = ["name", "prefix", "owner__username"]
    autocomplete_fields = ["owner"]
    fields = ["owner", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["prefix", "created_at", "last_used_at", "revoked_at"]
        return ["owner", "prefix", "created_at", "last_used_at", "revoked_at"]

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the record stays for audit

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        token, raw = services.api_token_create(owner=obj.owner, name=obj.name)
        _copy_fields(obj, token)
        _show_once(request, f"API token for {obj.owner}", raw)

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke(self, request, queryset):
        revoked = 0
        for token in queryset.filter(revoked_at=None):
            services.api_token_revoke(token=token)
            revoked += 1
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)


class ApiTokenInline(admin.TabularInline):
    """The user's tokens on the user page (read-only; revoke them from the token list)."""

    model = ApiToken
    fields = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class OwnerAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, ApiTokenInline]


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, OwnerAdmin)


# --- Tasks ----------------------------------------------------------------------------------
class TaskAdminForm(forms.ModelForm):
    class Meta:
        model = Task
        fields = ["owner", "name", "directive", "status"]

    def clean(self):
        cleaned = super().clean()
        owner = cleaned.get("owner") or (self.instance.owner if self.instance.pk else None)
        directive = cleaned.get("directive")
        if owner is not None and directive is not None and directive.owner_id != owner.pk:
            self.add_error("directive", "Pick a directive of the task's owner.")
        return cleaned


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    form = TaskAdminForm
    list_display = ["name", "owner", "directive", "status", "tool_key_prefix", "created_at"]
    list_filter = ["status"]
    list_select_related = ["owner", "directive"]
    search_fields = ["name", "owner__username", "directive__title", "tool_key_prefix"]
    autocomplete_fields = ["owner", "directive"]
    readonly_fields = ["id", "tool_key_prefix", "created_at", "updated_at"]
    date_hierarchy = "created_at"
    actions = ["rotate_tool_key"]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is None else ["owner", *self.readonly_fields]

    def get_fields(self, request, obj=None):
        fields = ["owner", "name", "directive", "status"]
        return fields if obj is None else ["id", *fields, *self.readonly_fields[1:]]

    def save_model(self, request, obj, form, change):
        if change:
            services.task_update(
                task=obj, **{name: form.cleaned_data[name] for name in form.changed_data}
            )
            return
        task, raw = services.task_create(
            owner=obj.owner, name=obj.name, directive=obj.directive, status=obj.status
        )
        _copy_fields(obj, task)
        _show_once(request, f"Tool key of task {task.name}", raw)

    def delete_model(self, request, obj):
        services.task_delete(task=obj)

    def delete_queryset(self, request, queryset):
        for task in queryset:
            services.task_delete(task=task)

    @admin.action(description="Rotate the tool key (the old one stops working)")
    def rotate_tool_key(self, request, queryset):
        for task in queryset:
            raw = services.task_rotate_tool_key(task=task)
            _show_once(request, f"New tool key of task {task.name}", raw)


class TaskInline(admin.TabularInline):
    """The directive's tasks (read-only here; create and rotate keys from the task admin)."""

    model = Task
    fields = ["name", "owner", "status", "tool_key_prefix", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("owner")


DirectiveAdmin.inlines.append(TaskInline)
