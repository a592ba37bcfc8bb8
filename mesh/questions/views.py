"""Owner-facing question endpoints (plain DRF views): list pending, read one, answer,
decline.

The two waiting supervisor endpoints are ASGI applications (mesh.questions.consumers),
described in the OpenAPI schema by mesh.questions.schema.
"""

import uuid
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from makima_site.errors import ApplicationError, NotFound
from makima_site.formats import camel_keys
from makima_site.openapi import error_response
from makima_site.throttles import AnswerThrottle
from makima_site.viewsets import request_owner
from mesh.models import Question
from mesh.questions import selectors, services
from mesh.questions.serializers import (
    AnswerQuestionResultSerializer,
    AnswerQuestionSerializer,
    PendingQuestionSerializer,
    QuestionSerializer,
    ReasonSerializer,
)

QUESTION_ID = OpenApiParameter(
    "question_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Question id"
)

_error = error_response


def question_id_or_404(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound("Question not found.") from None


def request_body(request: Request) -> Any:
    try:
        return request.data
    except exceptions.ParseError as exc:
        # Malformed JSON is a bad input like any other: VALIDATION_ERROR, not PARSE_ERROR.
        raise exceptions.ValidationError({"non_field_errors": [str(exc.detail)]}) from exc


def request_reason(request: Request) -> str | None:
    """The optional reason of a decline or a cancel; 400 VALIDATION_ERROR when malformed."""
    serializer = ReasonSerializer(data=request_body(request) or {})
    serializer.is_valid(raise_exception=True)
    reason: str | None = serializer.validated_data["reason"]
    return reason


TOTAL_COUNT_HEADER = "X-Total-Count"


class PendingQuestionListView(APIView):
    """GET /api/v1/mesh/questions — the caller's oldest pending questions."""

    # The items are camelCased here, key by cached key (camel_keys): the renderer's own
    # pass would redo it by regex for every key of up to 500 items.
    renderer_classes = [JSONRenderer]

    @extend_schema(
        summary="List your pending questions (oldest first; a bare array, not paginated)",
        description=(
            "At most MESH_PENDING_LIST_LIMIT (500) questions, the oldest; the "
            f"`{TOTAL_COUNT_HEADER}` header gives how many are pending in all."
        ),
        parameters=[
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                enum=["pending"],
                description=(
                    "Only `pending` is served here; any other value is a 400 "
                    "VALIDATION_ERROR: GET /api/v1/questions/?status=… lists every status."
                ),
            ),
            OpenApiParameter(
                TOTAL_COUNT_HEADER,
                OpenApiTypes.INT,
                OpenApiParameter.HEADER,
                response=[200],
                description="How many of your questions are pending in all.",
            ),
        ],
        responses={
            200: PendingQuestionSerializer(many=True),
            400: _error("VALIDATION_ERROR: a status other than pending."),
            401: _error("Not signed in."),
        },
        tags=["Mesh"],
    )
    def get(self, request: Request) -> Response:
        owner = request_owner(request)
        wanted = request.query_params.getlist("status")
        if any(value != Question.Status.PENDING for value in wanted):
            # This list is the pending one only; the history used to come back as [] here.
            raise ApplicationError(
                "This list has pending questions only; GET /api/v1/questions/ lists questions "
                "of every status (e.g. /api/v1/questions/?status=answered).",
                code="VALIDATION_ERROR",
                details={"status": ["Only 'pending' is served here; use /api/v1/questions/."]},
            )
        limit = settings.MESH_PENDING_LIST_LIMIT
        rows, total = selectors.question_list_pending_rows(owner=owner, limit=limit)
        items = [camel_keys(item) for item in PendingQuestionSerializer(rows, many=True).data]
        return Response(items, headers={TOTAL_COUNT_HEADER: str(total)})


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
        question = selectors.question_get(
            owner=request.user, question_id=question_id_or_404(question_id)
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
            404: _error("NOT_FOUND: unknown or expired."),
            409: _error(
                "ALREADY_ANSWERED: the first answer stands; ALREADY_SETTLED: declined or "
                "cancelled (the body's `status` says which)."
            ),
        },
        tags=["Mesh"],
    )
    def post(self, request: Request, question_id: str) -> Response:
        pk = question_id_or_404(question_id)
        serializer = AnswerQuestionSerializer(data=request_body(request))
        serializer.is_valid(raise_exception=True)
        services.question_answer(
            question_id=pk,
            owner=request_owner(request),
            response=serializer.validated_data["response"],
        )
        return Response({"success": True})


class DeclineQuestionView(APIView):
    """POST /api/v1/mesh/questions/{id}/decline — refuse to answer; the asker hears why."""

    throttle_classes = [AnswerThrottle]

    @extend_schema(
        summary="Decline one of your pending questions (with an optional reason)",
        parameters=[QUESTION_ID],
        request=ReasonSerializer,
        responses={
            200: AnswerQuestionResultSerializer,
            400: _error("VALIDATION_ERROR: the reason is over 2,000 characters, or not JSON."),
            401: _error("Not signed in."),
            403: _error("FORBIDDEN: another owner's question."),
            404: _error("NOT_FOUND: unknown or expired."),
            409: _error("ALREADY_SETTLED: answered, declined or cancelled (see `status`)."),
        },
        tags=["Mesh"],
    )
    def post(self, request: Request, question_id: str) -> Response:
        services.question_decline(
            question_id=question_id_or_404(question_id),
            owner=request_owner(request),
            reason=request_reason(request),
        )
        return Response({"success": True})
