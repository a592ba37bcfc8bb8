"""The shapes of the question endpoints and events: each defined once, here."""

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from makima_site.formats import timestamp
from mesh.models import (
    DEFAULT_TIMEOUT_SECONDS,
    MAX_CHOICE_LENGTH,
    MAX_CHOICES,
    MAX_CONTEXT_LENGTH,
    MAX_QUESTION_LENGTH,
    MAX_REASON_LENGTH,
    MAX_RESPONSE_LENGTH,
    MAX_TIMEOUT_SECONDS,
    MAX_TTL_SECONDS,
    MIN_TTL_SECONDS,
    Question,
)
from mesh.questions.fields import (
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    not_blank,
)

# The feed cuts a question's context to this many characters (the REST detail has it whole).
FEED_CONTEXT_CHARS = 2000


class AskQuestionSerializer(serializers.Serializer):
    """Body of POST /api/v1/mesh/supervisor/questions (the reference's AskQuestionRequest)."""

    question = StrictCharField(
        max_length=MAX_QUESTION_LENGTH,
        trim_whitespace=False,
        validators=[not_blank],
        help_text=f"The question for the owner (1–{MAX_QUESTION_LENGTH:,} characters).",
    )
    choices = serializers.ListField(
        child=StrictCharField(
            max_length=MAX_CHOICE_LENGTH, trim_whitespace=False, validators=[not_blank]
        ),
        max_length=MAX_CHOICES,
        required=False,
        default=list,
        help_text=(
            f"Up to {MAX_CHOICES} distinct choices of up to {MAX_CHOICE_LENGTH} characters each."
        ),
    )
    # The contract's field is named "context", like DRF's serializer context attribute.
    context = StrictCharField(  # type: ignore[assignment]
        max_length=MAX_CONTEXT_LENGTH,
        required=False,
        allow_null=True,
        allow_blank=True,
        trim_whitespace=False,
        default=None,
        help_text=f"Background for the owner (up to {MAX_CONTEXT_LENGTH:,} characters).",
    )
    timeout_seconds = StrictIntegerField(
        min_value=1,
        max_value=MAX_TIMEOUT_SECONDS,
        required=False,
        default=DEFAULT_TIMEOUT_SECONDS,
        help_text=(
            "How long to wait when no other rule of the timeout policy applies "
            f"(1–{MAX_TIMEOUT_SECONDS:,}; see the description)."
        ),
    )
    phaseguard = StrictBooleanField(
        required=False,
        default=False,
        help_text="Block up to the block wait, then answer 200 stillPending.",
    )
    multi_select = StrictBooleanField(
        required=False, default=False, help_text="The owner may pick several choices."
    )
    non_blocking = StrictBooleanField(
        required=False, default=False, help_text="Return at once without waiting."
    )
    question_type = serializers.ChoiceField(
        choices=Question.QuestionType.choices,
        required=False,
        default=Question.QuestionType.GENERAL,
    )
    ttl_seconds = StrictIntegerField(
        min_value=MIN_TTL_SECONDS,
        max_value=MAX_TTL_SECONDS,
        required=False,
        help_text=(
            f"How long the question may stay pending ({MIN_TTL_SECONDS}–{MAX_TTL_SECONDS:,} s; "
            "default MESH_QUESTION_TTL_SECONDS, 7 days); then it expires."
        ),
    )

    def validate_choices(self, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Choices must be distinct.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("multi_select") and not attrs.get("choices"):
            raise serializers.ValidationError(
                {"multi_select": ["multiSelect needs at least one choice."]}
            )
        return attrs


class AskQuestionResultSerializer(serializers.Serializer):
    """The reply of ask and poll (the reference's AskQuestionResponse); renders an AskResult
    (mesh.questions.waiting)."""

    question_id = serializers.UUIDField()
    response = serializers.CharField(allow_null=True)
    timed_out = serializers.BooleanField()
    still_pending = serializers.BooleanField()
    status = serializers.ChoiceField(
        choices=Question.Status.choices, help_text="Where the question stands now."
    )
    reason = serializers.CharField(
        allow_null=True, help_text="Why it was declined, cancelled or expired (else null)."
    )


class ReasonSerializer(serializers.Serializer):
    """The optional body of a decline (owner) or a cancel (task)."""

    reason = StrictCharField(
        max_length=MAX_REASON_LENGTH,
        required=False,
        allow_null=True,
        allow_blank=True,
        trim_whitespace=False,
        default=None,
        help_text=f"Why (up to {MAX_REASON_LENGTH:,} characters).",
    )


class CancelQuestionResultSerializer(serializers.Serializer):
    question_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=[Question.Status.CANCELLED])


class AnswerQuestionSerializer(serializers.Serializer):
    response = StrictCharField(
        max_length=MAX_RESPONSE_LENGTH,
        trim_whitespace=False,
        validators=[not_blank],
        help_text=f"The owner's answer (1–{MAX_RESPONSE_LENGTH:,} characters).",
    )


class AnswerQuestionResultSerializer(serializers.Serializer):
    success = serializers.BooleanField()


# The columns a pending item shows, as QuerySet.values() names them (lists select only these).
PENDING_ITEM_FIELDS = (
    "id",
    "task_id",
    "directive_id",
    "question",
    "choices",
    "context",
    "created_at",
    "multi_select",
    "question_type",
    "task__name",
    "directive__title",
    "expires_at",
)


def pending_item_row(question: Question) -> dict[str, Any]:
    """A loaded question as the row of PENDING_ITEM_FIELDS that lists select."""
    row: dict[str, Any] = {}
    for name in PENDING_ITEM_FIELDS:
        value: Any = question
        for part in name.split("__"):
            value = None if value is None else getattr(value, part)
        row[name] = value
    return row


class PendingQuestionSerializer(serializers.Serializer):
    """A pending question: the item of GET /api/v1/mesh/questions and of the feed's frames
    (mesh.questions.events). Beyond the reference's fields it carries taskName and
    directiveTitle (when there is a directive) so a reader sees names, not ids;
    select_related("task", "directive") first."""

    question_id = serializers.UUIDField(source="id")
    task_id = serializers.UUIDField()
    task_name = serializers.CharField(source="task.name", help_text="The asking task's name.")
    question = serializers.CharField()
    choices = serializers.ListField(child=serializers.CharField())
    context = serializers.CharField(allow_null=True)  # type: ignore[assignment]
    created_at = serializers.DateTimeField()
    multi_select = serializers.BooleanField()
    question_type = serializers.ChoiceField(choices=Question.QuestionType.choices)
    directive_id = serializers.UUIDField(
        required=False, help_text="Omitted when the question has no directive."
    )
    directive_title = serializers.CharField(
        source="directive.title",
        required=False,
        help_text="The directive's title; omitted with directiveId.",
    )

    def to_representation(self, instance: "Question | Mapping[str, Any]") -> dict[str, Any]:
        # Written out rather than through the fields above: a list renders up to 500 items,
        # and DRF's per-field machinery (and model instances) cost ~0.2 ms an item (bench
        # "lists"); lists hand in PENDING_ITEM_FIELDS rows. The fields still define the
        # shape (and the schema); tests/mesh/questions/test_serializers.py pins this to what
        # they would render.
        row = instance if isinstance(instance, Mapping) else pending_item_row(instance)
        item: dict[str, Any] = {
            "question_id": str(row["id"]),
            "task_id": str(row["task_id"]),
            "task_name": row["task__name"],
            "question": row["question"],
            "choices": list(row["choices"] or []),
            "context": row["context"],
            "created_at": timestamp(row["created_at"]),
            "multi_select": row["multi_select"],
            "question_type": row["question_type"],
        }
        if row["directive_id"] is not None:
            item["directive_id"] = str(row["directive_id"])
            item["directive_title"] = row["directive__title"]
        return item


class FeedQuestionSerializer(PendingQuestionSerializer):
    """A pending question in the feed's frames: its context cut to FEED_CONTEXT_CHARS, with
    contextTruncated true when cut (GET /api/v1/mesh/questions/{id} has the whole text)."""

    context_truncated = serializers.BooleanField(required=False)
    expires_at = serializers.DateTimeField(
        help_text="When the question expires if nobody settles it (the page's countdown)."
    )

    def to_representation(self, instance: "Question | Mapping[str, Any]") -> dict[str, Any]:
        item = super().to_representation(instance)
        item.pop("context_truncated", None)
        row = instance if isinstance(instance, Mapping) else pending_item_row(instance)
        item["expires_at"] = timestamp(row["expires_at"])
        context = item.get("context")
        if context is not None and len(context) > FEED_CONTEXT_CHARS:
            item["context"] = context[:FEED_CONTEXT_CHARS]
            item["context_truncated"] = True
        return item


class QuestionSerializer(serializers.ModelSerializer):
    """One question with its outcome, for its owner (history stays queryable)."""

    question_id = serializers.UUIDField(source="id", read_only=True)
    task_id = serializers.UUIDField(read_only=True)
    directive_id = serializers.UUIDField(read_only=True, allow_null=True)
    answered_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="Username of the owner who answered; null until it is answered.",
    )

    class Meta:
        model = Question
        fields = [
            "question_id",
            "task_id",
            "directive_id",
            "question",
            "choices",
            "context",
            "question_type",
            "multi_select",
            "phaseguard",
            "non_blocking",
            "timeout_seconds",
            "status",
            "response",
            "reason",
            "answered_at",
            "answered_by",
            "settled_at",
            "expires_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Question) -> dict[str, Any]:
        item: dict[str, Any] = super().to_representation(instance)
        if instance.is_past_ttl:
            item["status"] = Question.Status.EXPIRED  # past its time to live, not yet swept
        return item


class QuestionResourceSerializer(serializers.ModelSerializer):
    """A question of any status as GET /api/v1/questions/ and /api/v1/questions/{id}/ show
    it (and as webhook payloads carry it). Load it with selectors.question_list()'s joins."""

    task_id = serializers.UUIDField(read_only=True)
    task_name = serializers.CharField(source="task.name", read_only=True)
    choices = serializers.ListField(child=serializers.CharField(), read_only=True)
    directive_id = serializers.UUIDField(read_only=True, allow_null=True)
    directive_title = serializers.CharField(
        source="directive.title", read_only=True, allow_null=True, default=None
    )
    status = serializers.SerializerMethodField(
        help_text="Where the question stands; pending past its time to live reads expired."
    )
    settled_by = serializers.SerializerMethodField(
        help_text="The username of the owner who answered or declined it, else null."
    )
    wait_seconds = serializers.SerializerMethodField(
        help_text="How long the task waited: settledAt − createdAt in seconds (null while "
        "not settled)."
    )

    class Meta:
        model = Question
        fields = [
            "id",
            "task_id",
            "task_name",
            "directive_id",
            "directive_title",
            "question",
            "choices",
            "context",
            "question_type",
            "multi_select",
            "phaseguard",
            "non_blocking",
            "status",
            "response",
            "reason",
            "created_at",
            "expires_at",
            "settled_at",
            "settled_by",
            "wait_seconds",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=Question.Status.choices))
    def get_status(self, question: Question) -> str:
        return str(Question.Status.EXPIRED if question.is_past_ttl else question.status)

    def get_settled_by(self, question: Question) -> str | None:
        user = question.settled_by
        return None if user is None else str(user.username)

    def get_wait_seconds(self, question: Question) -> float | None:
        if question.settled_at is None:
            return None
        return round((question.settled_at - question.created_at).total_seconds(), 3)
