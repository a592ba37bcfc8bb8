from django.contrib import admin

from directives.models import Directive


@admin.register(Directive)
class DirectiveAdmin(admin.ModelAdmin):
    # Other apps append their inlines here (orders/admin.py adds OrderInline).
    inlines: list = []
