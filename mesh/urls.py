from django.urls import path, re_path
from rest_framework.routers import DefaultRouter

from mesh.credentials.views import ApiTokenViewSet
from mesh.questions.resource import QuestionViewSet
from mesh.questions.task_views import CancelQuestionView
from mesh.questions.views import (
    AnswerQuestionView,
    DeclineQuestionView,
    PendingQuestionListView,
    QuestionDetailView,
)
from mesh.tasks.orders import TaskOrderCreateView
from mesh.tasks.views import TaskViewSet

router = DefaultRouter(trailing_slash=True)
router.register("tasks", TaskViewSet, basename="task")
router.register("tokens", ApiTokenViewSet, basename="api-token")
router.register("questions", QuestionViewSet, basename="question-resource")

urlpatterns = router.urls
urlpatterns += [
    path("mesh/supervisor/orders", TaskOrderCreateView.as_view(), name="mesh-supervisor-orders"),
    # The reference's paths have no trailing slash; a path id that is not a UUID is 404.
    re_path(r"^mesh/questions$", PendingQuestionListView.as_view(), name="question-list"),
    re_path(
        r"^mesh/questions/(?P<question_id>[^/]+)$",
        QuestionDetailView.as_view(),
        name="question-detail",
    ),
    re_path(
        r"^mesh/questions/(?P<question_id>[^/]+)/answer$",
        AnswerQuestionView.as_view(),
        name="question-answer",
    ),
    re_path(
        r"^mesh/questions/(?P<question_id>[^/]+)/decline$",
        DeclineQuestionView.as_view(),
        name="question-decline",
    ),
    re_path(
        r"^mesh/supervisor/questions/(?P<question_id>[^/]+)$",
        CancelQuestionView.as_view(),
        name="mesh-supervisor-question-cancel",
    ),
]
