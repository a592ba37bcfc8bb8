from rest_framework import serializers

from directives.models import Directive
from mesh.models import ApiToken, Question, Task


class OwnedDirectiveField(serializers.PrimaryKeyRelatedField):
    """A directive id that must belong to the requesting owner (others look nonexistent)."""

    def get_queryset(self):
        request = self.context.get("request")
        if request is None or not request.user.is_authenticated:
            return Directive.objects.none()
        return Directive.objects.filter(owner=request.user)


class TaskSerializer(serializers.ModelSerializer):
    directive = OwnedDirectiveField(
        required=False, allow_null=True, pk_field=serializers.UUIDField()
    )

    class Meta:
        model = Task
        fields = ["id", "name", "directive", "status", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class TaskCreatedSerializer(TaskSerializer):
    tool_key = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(TaskSerializer.Meta):
        fields = [*TaskSerializer.Meta.fields, "tool_key"]


class ToolKeySerializer(serializers.Serializer):
    tool_key = serializers.CharField(read_only=True, help_text="Shown once; store it now.")


class ApiTokenSerializer(serializers.ModelSerializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at", "revoked_at"]


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]


# --- Questions ------------------------------------------------------------------------------
# The supervisor CLIs send typed JSON; DRF's fields coerce ("5" → 5, 1 → "1", "yes" → True).
# These refuse the wrong JSON type instead, so a client bug surfaces as a 400.
class StrictCharField(serializers.CharField):
    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": "Must be a whole number."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise serializers.ValidationError("This field may not be blank.")
    return value


MAX_QUESTION_LENGTH = 4000
MAX_CHOICES = 50
MAX_CHOICE_LENGTH = 500
MAX_CONTEXT_LENGTH = 20000
MAX_TIMEOUT_SECONDS = 86400


class AskQuestionSerializer(serializers.Serializer):
    """Body of POST /api/v1/mesh/supervisor/questions (the reference's AskQuestionRequest)."""

    question = StrictCharField(
        max_length=MAX_QUESTION_LENGTH,
        trim_whitespace=False,
        validators=[_not_blank],
        help_text="The question for the owner (1–4,000 characters).",
    )
    choices = serializers.ListField(
        child=StrictCharField(
            max_length=MAX_CHOICE_LENGTH, trim_whitespace=False, validators=[_not_blank]
        ),
        max_length=MAX_CHOICES,
        required=False,
        default=list,
        help_text="Up to 50 distinct choices of up to 500 characters each.",
    )
    context = StrictCharField(
        max_length=MAX_CONTEXT_LENGTH,
        required=False,
        allow_null=True,
        allow_blank=True,
        trim_whitespace=False,
        default=None,
        help_text="Background for the owner (up to 20,000 characters).",
    )
    timeout_seconds = StrictIntegerField(
        min_value=1,
        max_value=MAX_TIMEOUT_SECONDS,
        required=False,
        default=3600,
        help_text=(
            "How long to wait when no other rule of the timeout policy applies "
            "(1–86,400; see the description)."
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

    def validate_choices(self, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Choices must be distinct.")
        return value

    def validate(self, attrs):
        if attrs.get("multi_select") and not attrs.get("choices"):
            raise serializers.ValidationError(
                {"multi_select": ["multiSelect needs at least one choice."]}
            )
        return attrs


class AskQuestionResultSerializer(serializers.Serializer):
    """The reply of ask and poll (the reference's AskQuestionResponse)."""

    question_id = serializers.UUIDField()
    response = serializers.CharField(allow_null=True)
    timed_out = serializers.BooleanField()
    still_pending = serializers.BooleanField()


class AnswerQuestionSerializer(serializers.Serializer):
    response = StrictCharField(
        max_length=10000,
        trim_whitespace=False,
        validators=[_not_blank],
        help_text="The owner's answer (1–10,000 characters).",
    )


class AnswerQuestionResultSerializer(serializers.Serializer):
    success = serializers.BooleanField()


class PendingQuestionSerializer(serializers.Serializer):
    """Documents mesh.events.question_payload, the item of the pending list and the feed."""

    question_id = serializers.UUIDField()
    task_id = serializers.UUIDField()
    task_name = serializers.CharField(help_text="The asking task's name.")
    directive_id = serializers.UUIDField(
        required=False, help_text="Omitted when the question has no directive."
    )
    directive_title = serializers.CharField(
        required=False, help_text="The directive's title; omitted with directiveId."
    )
    question = serializers.CharField()
    choices = serializers.ListField(child=serializers.CharField())
    context = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    multi_select = serializers.BooleanField()
    question_type = serializers.ChoiceField(choices=Question.QuestionType.choices)


class QuestionSerializer(serializers.ModelSerializer):
    """One question with its outcome, for its owner (history stays queryable)."""

    question_id = serializers.UUIDField(source="id", read_only=True)
    task_id = serializers.UUIDField(read_only=True)
    directive_id = serializers.UUIDField(read_only=True, allow_null=True)
    answered_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text="Username of the owner who answered."
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
            "answered_at",
            "answered_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
