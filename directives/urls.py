from rest_framework.routers import DefaultRouter

from directives.views import DirectiveViewSet

router = DefaultRouter(trailing_slash=True)
router.register("directives", DirectiveViewSet, basename="directive")
urlpatterns = router.urls
