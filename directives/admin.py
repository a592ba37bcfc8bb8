from typing import Any, ClassVar

from django.contrib import admin
from django.db import models

from directives.models import Directive
from makima_site.admin import OwnerScopedAdmin


@admin.register(Directive)
class DirectiveAdmin(OwnerScopedAdmin):
    """Directives; a non-superuser staff owner sees and makes only their own."""

    list_display = ["title", "owner", "reconcile_mode", "status", "created_at"]
    list_filter = ["status", "reconcile_mode"]
    list_select_related = ["owner"]
    search_fields = ["title", "goal", "owner__username"]
    autocomplete_fields = ["owner"]
    readonly_fields = ["id", "created_at", "updated_at"]
    date_hierarchy = "created_at"
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    # Apps that depend on directives append their inlines here from their own admin.py
    # (mesh: its tasks; orders: its orders), so this app never imports them.
    inlines: ClassVar[list[Any]] = []
