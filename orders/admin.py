"""The owners' main tool for orders: triage in the list, bulk status and priority changes,
orders inline on their directive. A non-superuser staff owner sees and edits only their own
orders and may only pick their own directives."""

import uuid
from collections.abc import Callable

from django import forms
from django.contrib import admin
from django.contrib.admin.options import BaseModelAdmin
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join

from directives.admin import DirectiveAdmin
from makima_site.admin import bulk_action
from orders import selectors, services
from orders.models import MAX_REPOSITORY_URL_LENGTH, Order, label_errors

STATUS_COLOURS: dict[str, str] = {
    Order.Status.OPEN: "#1d4ed8",
    Order.Status.IN_PROGRESS: "#b45309",
    Order.Status.DONE: "#15803d",
    Order.Status.CLOSED: "#4b5563",
}
PRIORITY_COLOURS: dict[str, str] = {
    Order.Priority.LOW: "#6b7280",
    Order.Priority.MEDIUM: "#2563eb",
    Order.Priority.HIGH: "#ea580c",
    Order.Priority.CRITICAL: "#dc2626",
}


def _badge(text: str, colour: str, css_class: str):
    return format_html(
        '<span class="{}" style="display:inline-block;padding:1px 8px;border-radius:9px;'
        'background:{};color:#fff;font-weight:600;white-space:nowrap">{}</span>',
        css_class,
        colour,
        text,
    )


class LabelsField(forms.Field):
    """Labels as text, one per line; checked with the same rules as the API's."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 40, "placeholder": "One label per line"})

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text", "One label per line; up to 20 distinct labels of 1–50 characters."
        )
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(str(label) for label in value)
        return value

    def to_python(self, value):
        if isinstance(value, list):
            return value
        return [line.strip() for line in (value or "").splitlines() if line.strip()]

    def validate(self, value):
        super().validate(value)
        errors = label_errors(value)
        if errors:
            raise forms.ValidationError(errors)

    def has_changed(self, initial, data):
        return (initial or []) != self.to_python(data)


class OrderAdminForm(forms.ModelForm):
    labels = LabelsField()
    repository_url = forms.URLField(
        max_length=MAX_REPOSITORY_URL_LENGTH,
        required=False,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"class": "vURLField"}),
    )

    class Meta:
        model = Order
        fields = [
            "title",
            "description",
            "order_type",
            "status",
            "priority",
            "labels",
            "directive",
            "repository_url",
        ]

    def clean(self):
        cleaned = super().clean() or {}
        directive = cleaned.get("directive") or getattr(self.instance, "directive", None)
        task = self.instance.filed_by_task if self.instance.filed_by_task_id else None
        if directive is not None and task is not None and task.owner_id != directive.owner_id:
            raise forms.ValidationError(
                "A task of another owner filed this order; keep it on that owner's directives."
            )
        return cleaned


class OwnedOrdersMixin(BaseModelAdmin):
    """Scope the queryset and the directive choices to the requesting staff owner."""

    def get_queryset(self, request):
        return selectors.order_admin_list(user=request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "directive":
            kwargs["queryset"] = selectors.directive_list_choices(user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class OwnDirectiveListFilter(admin.SimpleListFilter):
    """Filter by directive, offering only the directives the user may see."""

    title = "directive"
    parameter_name = "directive"

    def lookups(self, request, model_admin):
        directives = selectors.directive_list_choices(user=request.user)
        if request.user.is_superuser:
            return [(str(d.pk), f"{d.title} ({d.owner})") for d in directives]
        return [(str(d.pk), d.title) for d in directives]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            directive_id = uuid.UUID(self.value())
        except ValueError:
            return queryset.none()
        return queryset.filter(directive_id=directive_id)


def _set_status_action(status: Order.Status) -> Callable[..., None]:
    return bulk_action(
        f"mark_{status.value}",
        f"Mark selected orders {status.label.lower()}",
        lambda orders: services.order_bulk_set_status(orders=orders, status=status),
        f"marked {status.label.lower()}",
    )


def _set_priority_action(priority: Order.Priority) -> Callable[..., None]:
    return bulk_action(
        f"set_priority_{priority.value}",
        f"Set priority of selected to {priority}",
        lambda orders: services.order_bulk_set_priority(orders=orders, priority=priority),
        f"set to priority {priority}",
    )


def _admin_link(viewname: str, pk, text: str):
    try:
        return format_html('<a href="{}">{}</a>', reverse(viewname, args=[pk]), text)
    except NoReverseMatch:
        return text


@admin.register(Order)
class OrderAdmin(OwnedOrdersMixin, admin.ModelAdmin):
    form = OrderAdminForm
    list_display = [
        "title",
        "status_badge",
        "priority_badge",
        "order_type",
        "directive_link",
        "labels_list",
        "created_at",
    ]
    list_display_links = ["title"]
    list_filter = ["status", "priority", "order_type", OwnDirectiveListFilter]
    list_select_related = ["directive", "owner"]
    search_fields = ["title", "description"]
    date_hierarchy = "created_at"
    list_per_page = 50
    actions = [
        *(
            _set_status_action(status)
            for status in (Order.Status.IN_PROGRESS, Order.Status.DONE, Order.Status.CLOSED)
        ),
        *(_set_priority_action(priority) for priority in Order.Priority),
    ]
    readonly_fields = [
        "id",
        "owner",
        "filed_by_task_link",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "title",
                    "description",
                    ("order_type", "status", "priority"),
                    "labels",
                    "directive",
                    "repository_url",
                ]
            },
        ),
        (
            "Audit",
            {"fields": ["id", "owner", "filed_by_task_link", "created_at", "updated_at"]},
        ),
    ]

    def get_list_display(self, request):
        if request.user.is_superuser:
            return [*self.list_display, "owner"]
        return self.list_display

    @admin.display(description="status", ordering="status")
    def status_badge(self, order: Order):
        return _badge(order.get_status_display(), STATUS_COLOURS[order.status], "order-status")

    @admin.display(description="priority", ordering=selectors.PRIORITY_RANK)
    def priority_badge(self, order: Order):
        return _badge(
            order.get_priority_display(), PRIORITY_COLOURS[order.priority], "order-priority"
        )

    @admin.display(description="directive", ordering="directive__title")
    def directive_link(self, order: Order):
        if order.directive_id is None:
            return "—"
        return _admin_link(
            "admin:directives_directive_change", order.directive_id, order.directive.title
        )

    @admin.display(description="labels")
    def labels_list(self, order: Order):
        return format_html_join(
            " ",
            '<span class="order-label" style="border:1px solid #9ca3af;border-radius:4px;'
            'padding:0 4px">{}</span>',
            ((label,) for label in order.labels),
        )

    @admin.display(description="filed by task")
    def filed_by_task_link(self, order: Order):
        if order.filed_by_task_id is None:
            return "— (filed by a person)"
        return _admin_link(
            "admin:mesh_task_change", order.filed_by_task_id, str(order.filed_by_task)
        )

    def save_model(self, request, obj, form, change):
        # The owner follows the directive; the form only offers the user's own directives.
        obj.owner_id = obj.directive.owner_id
        with transaction.atomic():
            services.order_save(order=obj)


class OrderInlineFormSet(forms.BaseInlineFormSet):
    """Orders added or changed on their directive's page go through the orders service."""

    def save_new(self, form, commit=True):
        order = form.instance
        order.directive = self.instance
        order.owner_id = self.instance.owner_id
        return services.order_save(order=order) if commit else order

    def save_existing(self, form, obj, commit=True):
        return services.order_save(order=form.instance) if commit else form.instance


class OrderInlineForm(OrderAdminForm):
    labels = LabelsField(widget=forms.Textarea(attrs={"rows": 2, "cols": 24}))


class OrderInline(OwnedOrdersMixin, admin.TabularInline):
    model = Order
    fk_name = "directive"
    form = OrderInlineForm
    formset = OrderInlineFormSet
    fields = ["title", "order_type", "status", "priority", "labels", "created_at"]
    readonly_fields = ["created_at"]
    extra = 0
    show_change_link = True


DirectiveAdmin.inlines.append(OrderInline)
