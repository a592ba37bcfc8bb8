"""The Question admin: a read-only record of every question, with "Decline" and "Expire
now" actions that go through the question services (so waiting tasks wake at once). A
non-superuser staff owner sees and acts only on their own questions."""

import uuid
from typing import Any

from django.contrib import admin, messages
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.text import Truncator

from makima_site.errors import ApplicationError
from mesh.models import Question
from mesh.questions import selectors, services

Status = Question.Status
STATUS_COLOURS: dict[str, str] = {
    Status.PENDING: "#b45309",
    Status.ANSWERED: "#15803d",
    Status.DECLINED: "#b91c1c",
    Status.CANCELLED: "#4b5563",
    Status.EXPIRED: "#6b7280",
}
ADMIN_DECLINE_REASON = "declined in the admin"
ADMIN_EXPIRE_REASON = "expired in the admin"


class OwnDirectiveFilter(admin.SimpleListFilter):
    """Filter by directive, offering only the directives the user may see."""

    title = "directive"
    parameter_name = "directive"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        directives = selectors.question_admin_directive_choices(user=request.user)  # type: ignore[arg-type]
        if request.user.is_superuser:
            return [(str(d.pk), f"{d.title} ({d.owner})") for d in directives]
        return [(str(d.pk), d.title) for d in directives]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Question]) -> QuerySet[Question]:
        if not self.value():
            return queryset
        try:
            directive_id = uuid.UUID(str(self.value()))
        except ValueError:
            return queryset.none()
        return queryset.filter(directive_id=directive_id)


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = [
        "question_cut",
        "owner",
        "task",
        "directive",
        "status_badge",
        "created_at",
        "settled_at",
        "wait",
    ]
    list_display_links = ["question_cut"]
    list_filter = ["status", "question_type", OwnDirectiveFilter, "created_at"]
    list_select_related = ["owner", "task", "directive"]
    search_fields = ["question", "context"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]
    list_per_page = 50
    actions = ["decline", "expire_now"]
    fieldsets = [
        (None, {"fields": ["question", "context", "choices", ("question_type", "multi_select")]}),
        (
            "Outcome",
            {"fields": ["status_badge", "response", "reason", "settled_at", "settled_by", "wait"]},
        ),
        (
            "Asked by",
            {
                "fields": [
                    "id",
                    "owner",
                    "task",
                    "directive",
                    ("phaseguard", "non_blocking", "timeout_seconds"),
                    "created_at",
                    "expires_at",
                    "answered_at",
                    "answered_by",
                ]
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Question]:
        return selectors.question_admin_list(user=request.user)  # type: ignore[arg-type]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly: list[str] = []
        for _, options in self.fieldsets:
            for entry in options["fields"]:
                names = entry if isinstance(entry, tuple | list) else (entry,)
                readonly.extend(str(name) for name in names)
        return readonly

    # A question is asked by its task and settled by the actions: never added, edited or
    # deleted here. Viewing it needs the view permission; the actions, the change one.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_settle_permission(self, request: HttpRequest) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.display(description="question", ordering="question")
    def question_cut(self, question: Question) -> str:
        return Truncator(question.question).chars(80)

    @admin.display(description="status", ordering="status")
    def status_badge(self, question: Question) -> str:
        status = Status.EXPIRED if question.is_past_ttl else Status(question.status)
        return format_html(
            '<span class="question-status" style="display:inline-block;padding:1px 8px;'
            'border-radius:9px;background:{};color:#fff;font-weight:600;white-space:nowrap">'
            "{}</span>",
            STATUS_COLOURS[status],
            status.label,
        )

    @admin.display(description="wait", ordering=F("settled_at") - F("created_at"))
    def wait(self, question: Question) -> str:
        if question.settled_at is None:
            return "—"
        seconds = int((question.settled_at - question.created_at).total_seconds())
        minutes, seconds = divmod(seconds, 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds:02d}s"

    @admin.action(description="Decline", permissions=["settle"])
    def decline(self, request: HttpRequest, queryset: QuerySet[Question]) -> None:
        declined = 0
        for question in queryset.filter(status=Status.PENDING).select_related("owner"):
            try:
                services.question_decline(
                    question_id=question.pk,
                    owner=question.owner,
                    reason=ADMIN_DECLINE_REASON,
                    settled_by=request.user,  # type: ignore[arg-type]
                )
            except ApplicationError:
                continue  # settled meanwhile, or past its time to live
            declined += 1
        self._report(request, declined, "declined", queryset)

    @admin.action(description="Expire now", permissions=["settle"])
    def expire_now(self, request: HttpRequest, queryset: QuerySet[Question]) -> None:
        pending = queryset.filter(status=Status.PENDING).values_list("pk", flat=True)
        expired = sum(
            services.question_expire(question_id=pk, reason=ADMIN_EXPIRE_REASON)
            for pk in list(pending)
        )
        self._report(request, expired, "expired", queryset)

    def _report(self, request: HttpRequest, done: int, verb: str, selected: QuerySet) -> None:
        skipped = selected.count() - done
        message = f"{done} question(s) {verb}."
        if skipped:
            message += f" {skipped} skipped: no longer pending."
        self.message_user(request, message, messages.SUCCESS if done else messages.WARNING)
