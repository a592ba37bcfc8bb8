"""The site's URLs plus a few views that fail on purpose, for the error-contract tests."""

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from makima_site.errors import Forbidden
from makima_site.urls import urlpatterns as site_urlpatterns


class OncePerDay(AnonRateThrottle):
    rate = "1/day"
    cache_format = "error-tests-%(scope)s-%(ident)s"


class ThrottledView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [OncePerDay]

    def get(self, request):
        return Response({"ok": True})


class CrashingApiView(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError("secret internals: password=hunter2")


class ForbiddenView(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise Forbidden("Not yours.")


def crashing_django_view(request):
    raise RuntimeError("secret internals: password=hunter2")


urlpatterns = [
    path("test/throttled", ThrottledView.as_view()),
    path("test/crash-api", CrashingApiView.as_view()),
    path("test/crash-django", crashing_django_view),
    path("test/forbidden", ForbiddenView.as_view()),
    *site_urlpatterns,
]

handler400 = "makima_site.errors.handler400"
handler403 = "makima_site.errors.handler403"
handler404 = "makima_site.errors.handler404"
handler500 = "makima_site.errors.handler500"
