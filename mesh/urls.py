from django.urls import path
from rest_framework.routers import DefaultRouter

from mesh.supervisor_orders import TaskOrderCreateView
from mesh.views import ApiTokenViewSet, TaskViewSet

router = DefaultRouter(trailing_slash=True)
router.register("tasks", TaskViewSet, basename="task")
router.register("tokens", ApiTokenViewSet, basename="api-token")

urlpatterns = router.urls
urlpatterns += [
    path("mesh/supervisor/orders", TaskOrderCreateView.as_view(), name="mesh-supervisor-orders"),
]
