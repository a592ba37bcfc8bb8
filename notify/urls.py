from rest_framework.routers import DefaultRouter

from notify.views import NotificationChannelViewSet, WebhookViewSet

router = DefaultRouter(trailing_slash=True)
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register(
    "notification-channels", NotificationChannelViewSet, basename="notification-channel"
)
urlpatterns = router.urls
