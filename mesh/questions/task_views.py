"""The task-facing question endpoint Django serves: a task withdraws its own question.

(Ask and poll wait, so they are ASGI applications: mesh.questions.consumers.)
"""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from makima_site.openapi import error_response
from mesh.credentials.authentication import ToolKeyAuthentication
from mesh.models import Question, Task
from mesh.questions import services
from mesh.questions.serializers import CancelQuestionResultSerializer, ReasonSerializer
from mesh.questions.views import QUESTION_ID, question_id_or_404, request_reason


class CancelQuestionView(APIView):
    """DELETE /api/v1/mesh/supervisor/questions/{id} — the asking task cancels its question."""

    authentication_classes = [ToolKeyAuthentication]
    permission_classes: list[type] = []

    @extend_schema(
        operation_id="mesh_supervisor_questions_cancel",
        summary="Cancel (withdraw) your pending question",
        description=(
            "Only the task that asked may cancel; its waiting asks and polls return at once "
            'with `status: "cancelled"` and the reason. The optional JSON body is '
            '`{"reason": "..."}` (up to 2,000 characters).'
        ),
        parameters=[QUESTION_ID],
        request=ReasonSerializer,
        responses={
            200: CancelQuestionResultSerializer,
            400: error_response("VALIDATION_ERROR: the reason is over 2,000 characters."),
            401: error_response("UNAUTHORIZED: no tool key, or an unknown or rotated one."),
            403: error_response("NOT_DIRECTIVE_TASK: the task has no directive."),
            404: error_response("NOT_FOUND: unknown, or another task's question; task gone."),
            409: error_response("ALREADY_SETTLED: answered, declined, cancelled or expired."),
        },
        tags=["Mesh Supervisor"],
    )
    def delete(self, request: Request, question_id: str) -> Response:
        pk = question_id_or_404(question_id)
        task = request.auth
        assert isinstance(task, Task)  # ToolKeyAuthentication's
        question = services.question_cancel(
            question_id=pk, task=task, reason=request_reason(request)
        )
        body = CancelQuestionResultSerializer(
            {"question_id": question.id, "status": Question.Status.CANCELLED}
        ).data
        return Response(body)
