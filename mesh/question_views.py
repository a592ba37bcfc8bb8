"""Owner-facing question endpoints (plain DRF views): list pending, read one, answer.

The two waiting supervisor endpoints are Channels consumers (mesh/question_consumers.py);
SupervisorAskDoc/SupervisorPollDoc below only describe them in the OpenAPI schema.
"""

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from makima_site.errors import NotFound
from makima_site.openapi import error_response
from makima_site.throttles import AnswerThrottle
from mesh import events, selectors, services
from mesh.authentication import ToolKeyAuthentication
from mesh.serializers import (
    AnswerQuestionResultSerializer,
    AnswerQuestionSerializer,
    AskQuestionResultSerializer,
    AskQuestionSerializer,
    PendingQuestionSerializer,
    QuestionSerializer,
)

QUESTION_ID = OpenApiParameter(
    "question_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Question id"
)


_error = error_response


def _question_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound("Question not found.") from None


class PendingQuestionListView(APIView):
    """GET /api/v1/mesh/questions — the caller's pending questions, oldest first."""

    @extend_schema(
        summary="List your pending questions (oldest first; a bare array, not paginated)",
        responses={200: PendingQuestionSerializer(many=True), 401: _error("Not signed in.")},
        tags=["Mesh"],
    )
    def get(self, request):
        questions = selectors.question_pending_list(owner=request.user)
        return Response([events.question_payload(question) for question in questions])


class QuestionDetailView(APIView):
    """GET /api/v1/mesh/questions/{id} — one of the caller's questions with its outcome."""

    @extend_schema(
        summary="Get one of your questions with its status and answer",
        parameters=[QUESTION_ID],
        responses={
            200: QuestionSerializer,
            401: _error("Not signed in."),
            404: _error("Unknown, or another owner's."),
        },
        tags=["Mesh"],
    )
    def get(self, request, question_id: str):
        question = selectors.question_get_for_owner(
            owner=request.user, question_id=_question_id(question_id)
        )
        if question is None:
            raise NotFound("Question not found.")
        return Response(QuestionSerializer(question).data)


class AnswerQuestionView(APIView):
    """POST /api/v1/mesh/questions/{id}/answer — the first answer wins and wakes the asker."""

    throttle_classes = [AnswerThrottle]

    @extend_schema(
        summary="Answer one of your pending questions",
        parameters=[QUESTION_ID],
        request=AnswerQuestionSerializer,
        responses={
            200: AnswerQuestionResultSerializer,
            400: _error("VALIDATION_ERROR: empty or over 10,000 characters, or not JSON."),
            401: _error("Not signed in."),
            403: _error("FORBIDDEN: another owner's question."),
            404: _error("NOT_FOUND: unknown or withdrawn."),
            409: _error("ALREADY_ANSWERED: the first answer stands."),
        },
        tags=["Mesh"],
    )
    def post(self, request, question_id: str):
        question_id = _question_id(question_id)
        try:
            data = request.data
        except exceptions.ParseError as exc:
            # Issue 4 lists malformed JSON among the bad inputs answered VALIDATION_ERROR.
            raise exceptions.ValidationError({"non_field_errors": [str(exc.detail)]}) from exc
        serializer = AnswerQuestionSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        services.question_answer(
            question_id=question_id,
            owner=request.user,
            response=serializer.validated_data["response"],
        )
        return Response({"success": True})


# --- documentation of the Channels consumers --------------------------------------------------
# Never routed: mesh.schema.add_consumer_endpoints hands these to drf-spectacular under the
# consumers' paths. The statuses listed are exactly those the consumers answer.
_TOOL_KEY_ERRORS = {
    401: _error("UNAUTHORIZED: missing, unknown or rotated tool key (owner tokens too)."),
    403: _error("NOT_DIRECTIVE_TASK: the task has no directive."),
    405: _error("METHOD_NOT_ALLOWED."),
}


class SupervisorAskDoc(APIView):
    authentication_classes = [ToolKeyAuthentication]

    @extend_schema(
        operation_id="mesh_supervisor_questions_ask",
        summary="Ask the owner a question and wait for the answer",
        description=(
            "Records the question (task, directive, owner) and waits per the timeout policy: "
            "`nonBlocking` → 200 at once with `response: null`; `phaseguard`, or a semi-auto / "
            "manual directive → waits MESH_BLOCK_WAIT_SECONDS (300), then 200 with "
            "`stillPending: true` (re-poll); an auto directive → waits "
            "MESH_AUTO_TIMEOUT_SECONDS (30), then 408 with `timedOut: true` and the question "
            "is withdrawn; any other mode → waits `timeoutSeconds`, then as auto. An answer at "
            "any point → 200 with `response`. A client that disconnects leaves the question "
            "pending (it can re-poll)."
        ),
        request=AskQuestionSerializer,
        responses={
            200: AskQuestionResultSerializer,
            400: _error("VALIDATION_ERROR (with `details`): bad field, or not a JSON object."),
            404: _error("NOT_FOUND: the task was deleted."),
            408: OpenApiResponse(
                AskQuestionResultSerializer,
                description="Auto-mode timeout: `timedOut: true`; the question is withdrawn.",
            ),
            413: _error("PAYLOAD_TOO_LARGE: body over 1 MiB."),
            **_TOOL_KEY_ERRORS,
        },
        tags=["Mesh Supervisor"],
    )
    def post(self, request):
        raise NotFound("Served by the ASGI consumer.")


class SupervisorPollDoc(APIView):
    authentication_classes = [ToolKeyAuthentication]

    @extend_schema(
        operation_id="mesh_supervisor_questions_poll",
        summary="Wait again for the answer to your question",
        description=(
            "Answered → 200 with `response` (the same answer on every poll). Pending → waits "
            "MESH_POLL_WAIT_SECONDS (300), then 200 with `stillPending: true`. Unknown, "
            "another task's, or withdrawn (auto timeout) → 404."
        ),
        parameters=[QUESTION_ID],
        request=None,
        responses={
            200: AskQuestionResultSerializer,
            404: _error("NOT_FOUND: unknown, another task's or withdrawn question; task gone."),
            **_TOOL_KEY_ERRORS,
        },
        tags=["Mesh Supervisor"],
    )
    def get(self, request, question_id: str):
        raise NotFound("Served by the ASGI consumer.")
