"""Admin for tasks; a new tool key is shown once, in a message."""

from django import forms
from django.contrib import admin

from directives.admin import DirectiveAdmin
from makima_site.admin import OwnerScopedAdmin, ReadOnlyInline, copy_fields, show_once
from mesh.models import Task
from mesh.tasks import services


class TaskAdminForm(forms.ModelForm):
    class Meta:
        model = Task
        fields = ["owner", "name", "directive", "status"]

    def clean(self):
        cleaned = super().clean() or {}
        # The owner is not on the form when it is read-only (a staff owner's own tasks).
        owner = cleaned.get("owner")
        owner_id = owner.pk if owner is not None else self.instance.owner_id
        directive = cleaned.get("directive")
        if owner_id is not None and directive is not None and directive.owner_id != owner_id:
            self.add_error("directive", "Pick a directive of the task's owner.")
        return cleaned


@admin.register(Task)
class TaskAdmin(OwnerScopedAdmin):
    """Tasks; a non-superuser staff owner sees, makes and rotates the keys of only their
    own, on their own directives."""

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
        fields = [name for name in super().get_readonly_fields(request, obj) if name != "owner"]
        return fields if obj is None and not self.scoped(request) else ["owner", *fields]

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
        copy_fields(obj, task)
        show_once(request, f"Tool key of task {task.name}", raw)

    def delete_model(self, request, obj):
        services.task_delete(task=obj)

    def delete_queryset(self, request, queryset):
        for task in queryset:
            services.task_delete(task=task)

    @admin.action(description="Rotate the tool key (the old one stops working)")
    def rotate_tool_key(self, request, queryset):
        for task in queryset:
            raw = services.task_rotate_tool_key(task=task)
            show_once(request, f"New tool key of task {task.name}", raw)


class TaskInline(ReadOnlyInline):
    """The directive's tasks (read-only here; create and rotate keys from the task admin)."""

    model = Task
    readonly_fields = ["name", "owner", "status", "tool_key_prefix", "created_at"]
    fields = tuple(readonly_fields)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("owner")


DirectiveAdmin.inlines.append(TaskInline)
