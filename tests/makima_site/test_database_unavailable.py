"""An unreachable database is 503 DB_UNAVAILABLE in the error shape, never a 500.

The real outage (a private PostgreSQL stopped under load) is tests/faults/test_postgres_restart.py;
these pin each path's mapping without one.
"""

import sys

import pytest
from django.db import InterfaceError, OperationalError
from django.test import RequestFactory

from makima_site import errors
from makima_site.middleware import DatabaseUnavailableMiddleware


@pytest.mark.parametrize(
    "exc",
    [OperationalError("connection refused"), InterfaceError("connection already closed")],
)
def test_drf_handler_maps_database_errors_to_503(exc):
    """The DRF handler (also used by the waiting consumers) answers 503 DB_UNAVAILABLE."""
    response = errors.api_exception_handler(exc, {})
    assert response.status_code == 503
    assert response.data == {"code": "DB_UNAVAILABLE", "message": errors.DB_UNAVAILABLE_MESSAGE}
    assert response["Retry-After"] == "1"


def test_pool_timeout_is_db_unavailable():
    """psycopg_pool's PoolTimeout (raised when no connection comes within DB_POOL_TIMEOUT)."""
    psycopg_pool = pytest.importorskip("psycopg_pool")
    response = errors.api_exception_handler(psycopg_pool.PoolTimeout("no connection"), {})
    assert response.status_code == 503
    assert response.data["code"] == "DB_UNAVAILABLE"


def test_middleware_maps_plain_django_view_errors():
    """A plain-Django view that cannot reach the database gets the JSON 503, not DEBUG's page."""
    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    request = RequestFactory().get("/admin/")
    response = middleware.process_exception(request, OperationalError("down"))
    assert response.status_code == 503
    assert b'"DB_UNAVAILABLE"' in response.content
    assert middleware.process_exception(request, ValueError("bug")) is None


def test_handler500_reports_a_database_outage_as_503():
    """handler500 runs inside Django's except block: a database error there is a 503."""
    try:
        raise OperationalError("down")
    except OperationalError:
        assert sys.exc_info()[0] is OperationalError
        response = errors.handler500(RequestFactory().get("/"))
    assert response.status_code == 503
    assert errors.handler500(RequestFactory().get("/")).status_code == 500


def test_ops_endpoint_is_off_by_default(client):
    """/_ops/wakehub is 404 unless MESH_OPS_ENDPOINTS is on."""
    assert client.get("/_ops/wakehub").status_code == 404


async def test_ops_endpoint_reports_hub_counters(settings, async_client):
    """With MESH_OPS_ENDPOINTS on, it reports this process's hub counters (counts only)."""
    settings.MESH_OPS_ENDPOINTS = True
    response = await async_client.get("/_ops/wakehub")
    assert response.status_code == 200
    assert set(response.json()) == {"hub", "pool", "publish", "logins"}
    assert set(response.json()["publish"]) == {"waiting", "inFlight", "sent", "failed", "dropped"}
    assert set(response.json()["logins"]) == {"waiting", "inFlight", "refused"}
