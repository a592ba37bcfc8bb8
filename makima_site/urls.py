from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

from makima_site.health import healthz
from makima_site.observability.views import metrics_view
from makima_site.ops import wakehub
from mesh.feed.pages import question_context, question_page, questions_page
from mesh.owners.login_limits import login_limited
from mesh.owners.pages import OwnerLoginView

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("_ops/wakehub", wakehub, name="ops-wakehub"),  # 404 unless MESH_OPS_ENDPOINTS
    # Both logins under the failed-login limit and the login slots (ahead of admin.site.urls).
    path("admin/login/", login_limited(admin.site.login)),
    path("metrics", metrics_view, name="metrics"),  # 404 unless METRICS_TOKEN
    path("admin/", admin.site.urls),
    path("questions/", questions_page, name="questions"),
    path("questions/<uuid:question_id>/", question_page, name="question"),
    path("questions/<uuid:question_id>/context/", question_context, name="question-context"),
    path("accounts/login/", login_limited(OwnerLoginView.as_view()), name="login"),
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("api/v1/", include("directives.urls")),
    path("api/v1/", include("mesh.urls")),
    path("api/v1/", include("orders.urls")),
    # Webhooks and notifications (notify/): the API, the answer links and settings page.
    path("api/v1/", include("notify.urls")),
    path("", include("notify.page_urls")),
]

handler400 = "makima_site.errors.handler400"
handler403 = "makima_site.errors.handler403"
handler404 = "makima_site.errors.handler404"
handler500 = "makima_site.errors.handler500"
