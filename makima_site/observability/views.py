"""GET /metrics: the Prometheus text format, for a scraper holding METRICS_TOKEN.

Off (404, as for any unknown path) when METRICS_TOKEN is unset; 401 without the bearer
token or with another one. What it reports is makima_site/observability/metrics.py's.
"""

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from makima_site.errors import handler404, json_error
from makima_site.observability.metrics import render


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    expected = settings.METRICS_TOKEN
    if not expected:
        return handler404(request)
    given = request.headers.get("Authorization", "")
    scheme, _, token = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), expected.encode()
    ):
        response = json_error("UNAUTHORIZED", "Send the metrics token as a bearer token.", 401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(
        render(), content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"}
    )
