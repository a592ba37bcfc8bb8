"""The OpenAPI description of the two waiting supervisor endpoints (ask, poll)."""

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.views import APIView

from makima_site.errors import NotFound
from makima_site.openapi import error_response, idempotency_key_parameter
from mesh.credentials.authentication import ToolKeyAuthentication
from mesh.questions.serializers import AskQuestionResultSerializer, AskQuestionSerializer
from mesh.questions.views import QUESTION_ID

_error = error_response

# Never routed: add_consumer_endpoints hands these to drf-spectacular under the endpoints'
# paths. The statuses listed are exactly those the endpoints answer.
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
            "any point → 200 with `response`; declined or cancelled → 200 with "
            "`response: null`, the `status` and the `reason`; past its time to live "
            '(`ttlSeconds`) → 408 with `status: "expired"`. A client that disconnects leaves '
            "the question pending: send an `Idempotency-Key` to find it again — the same task "
            "sending the same key within MESH_IDEMPOTENCY_SECONDS (a day) attaches to the "
            "first question (a blocking ask waits again, a settled one answers at once) "
            "instead of asking again."
        ),
        parameters=[idempotency_key_parameter()],
        request=AskQuestionSerializer,
        responses={
            200: AskQuestionResultSerializer,
            400: _error(
                "VALIDATION_ERROR (with `details`): bad field, not a JSON object, or a bad "
                "Idempotency-Key."
            ),
            404: _error("NOT_FOUND: the task was deleted."),
            408: OpenApiResponse(
                AskQuestionResultSerializer,
                description=(
                    'Auto-mode timeout or time to live: `timedOut: true`, `status: "expired"`.'
                ),
            ),
            413: _error("PAYLOAD_TOO_LARGE: body over 1 MiB."),
            422: _error("IDEMPOTENCY_KEY_REUSED: the key was used with another body."),
            429: _error(
                "TOO_MANY_PENDING: the task holds MESH_MAX_PENDING_PER_TASK (100) pending "
                "questions; THROTTLED: over the ask rate."
            ),
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
            "Answered → 200 with `response` (the same answer on every poll); declined or "
            "cancelled → 200 with `response: null`, the `status` and the `reason`. Pending → "
            "waits MESH_POLL_WAIT_SECONDS (300), then 200 with `stillPending: true`. Unknown, "
            "another task's, or expired (auto timeout or time to live) → 404."
        ),
        parameters=[QUESTION_ID],
        request=None,
        responses={
            200: AskQuestionResultSerializer,
            404: _error("NOT_FOUND: unknown, another task's or expired question; task gone."),
            **_TOOL_KEY_ERRORS,
        },
        tags=["Mesh Supervisor"],
    )
    def get(self, request, question_id: str):
        raise NotFound("Served by the ASGI consumer.")


def add_consumer_endpoints(endpoints: list[Any]) -> list[Any]:
    """PREPROCESSING_HOOK: describe the waiting endpoints (ask, poll) in the schema.

    They are served by mesh.questions.consumers ahead of Django, so Django's URLconf does
    not list them; their documentation views (never routed) stand in here.
    """
    return [
        *endpoints,
        (
            "/api/v1/mesh/supervisor/questions",
            r"^api/v1/mesh/supervisor/questions$",
            "POST",
            SupervisorAskDoc.as_view(),
        ),
        (
            "/api/v1/mesh/supervisor/questions/{question_id}/poll",
            r"^api/v1/mesh/supervisor/questions/(?P<question_id>[^/]+)/poll$",
            "GET",
            SupervisorPollDoc.as_view(),
        ),
    ]
