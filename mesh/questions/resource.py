"""GET /api/v1/questions/ — the owner's questions of every status as a REST resource (a
DRF viewset like directives, tasks and orders): the list with its filters, one question,
and its answer/ and decline/ actions.

The actions call the same services as the reference paths (mesh.questions.views), so the
rules and error codes are theirs; only another owner's question is 404 here (the resource
shows nothing of another owner's), where the reference path answers 403.
"""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from makima_site.openapi import error_response
from makima_site.throttles import AnswerThrottle
from makima_site.viewsets import OwnerScopedViewSet, request_owner
from mesh.models import Question
from mesh.questions import selectors, services
from mesh.questions.filters import QuestionFilter
from mesh.questions.serializers import (
    AnswerQuestionSerializer,
    QuestionResourceSerializer,
    ReasonSerializer,
)
from mesh.questions.views import request_body, request_reason

_NOT_FOUND = error_response("NOT_FOUND: unknown, or another owner's.")
_SETTLE_NOT_FOUND = error_response(
    "NOT_FOUND: unknown, another owner's, or expired (past its time to live)."
)
_INVALID_LIST = error_response(
    "VALIDATION_ERROR: an unknown status or question type, a bad date, or a bad id."
)


@extend_schema_view(
    list=extend_schema(
        summary="List your questions of every status (newest first, paginated)",
        responses={200: QuestionResourceSerializer(many=True), 400: _INVALID_LIST},
    ),
    retrieve=extend_schema(
        summary="Get one of your questions",
        responses={200: QuestionResourceSerializer, 404: _NOT_FOUND},
    ),
)
class QuestionViewSet(OwnerScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """The owner's questions; another owner's are 404. Settling goes through the actions."""

    serializer_class = QuestionResourceSerializer
    filterset_class = QuestionFilter
    # Ordering is the filterset's `ordering` (camelCase, nulls last), not the generic filter.
    filter_backends = [DjangoFilterBackend]
    queryset = Question.objects.none()

    def list_for_owner(self, owner):
        return selectors.question_list(owner=owner)

    def _settled(self, question_id) -> Response:
        row = selectors.question_list(owner=request_owner(self.request)).get(pk=question_id)
        return Response(self.get_serializer(row).data)

    @extend_schema(
        summary="Answer one of your pending questions (wakes the asking task)",
        request=AnswerQuestionSerializer,
        responses={
            200: QuestionResourceSerializer,
            400: error_response("VALIDATION_ERROR: empty or over 10,000 characters, or not JSON."),
            404: _SETTLE_NOT_FOUND,
            409: error_response(
                "ALREADY_ANSWERED: the first answer stands; ALREADY_SETTLED: declined or "
                "cancelled (the body's `status` says which)."
            ),
        },
    )
    @action(detail=True, methods=["post"], throttle_classes=[AnswerThrottle])
    def answer(self, request: Request, pk: str | None = None) -> Response:
        question = self.get_object()
        serializer = AnswerQuestionSerializer(data=request_body(request))
        serializer.is_valid(raise_exception=True)
        services.question_answer(
            question_id=question.pk,
            owner=request_owner(request),
            response=serializer.validated_data["response"],
        )
        return self._settled(question.pk)

    @extend_schema(
        summary="Decline one of your pending questions (with an optional reason)",
        request=ReasonSerializer,
        responses={
            200: QuestionResourceSerializer,
            400: error_response("VALIDATION_ERROR: the reason is over 2,000 characters."),
            404: _SETTLE_NOT_FOUND,
            409: error_response("ALREADY_SETTLED: answered, declined or cancelled (see `status`)."),
        },
    )
    @action(detail=True, methods=["post"], throttle_classes=[AnswerThrottle])
    def decline(self, request: Request, pk: str | None = None) -> Response:
        question = self.get_object()
        services.question_decline(
            question_id=question.pk, owner=request_owner(request), reason=request_reason(request)
        )
        return self._settled(question.pk)
