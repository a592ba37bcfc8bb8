from rest_framework.routers import DefaultRouter

from mesh.views import ApiTokenViewSet, TaskViewSet

router = DefaultRouter(trailing_slash=True)
router.register("tasks", TaskViewSet, basename="task")
router.register("tokens", ApiTokenViewSet, basename="api-token")

urlpatterns = router.urls
