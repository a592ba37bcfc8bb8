"""GET /healthz: 200 when the database and the channel layer answer, 503 naming the one that
does not."""

import pytest
from django.db import OperationalError
from django.test import Client

from makima_site import health

# The check closes its database connection (as it must under ASGI), so it runs outside the
# test's wrapping transaction.
pytestmark = pytest.mark.django_db(transaction=True)

UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
    }
}


class BrokenConnection:
    def cursor(self):
        raise OperationalError("connection refused")

    def close(self):
        pass


def test_all_up_is_200():
    """Both parts reachable: 200 {"status": "ok", "database": "ok", "channelLayer": "ok"}."""
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "channelLayer": "ok"}


def test_needs_no_credentials():
    """Load balancers call it anonymously."""
    assert Client().head("/healthz").status_code == 200


def test_database_down_is_503(monkeypatch):
    """An unreachable database: 503 naming the database, in the error contract's shape."""
    monkeypatch.setattr(health, "connection", BrokenConnection())
    response = Client().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "unavailable" and body["channelLayer"] == "ok"
    assert body["status"] == "unavailable"
    assert body["code"] == "SERVICE_UNAVAILABLE" and "database" in body["message"]


def test_channel_layer_down_is_503(settings):
    """An unreachable channel layer (Redis down): 503 naming channelLayer."""
    settings.CHANNEL_LAYERS = UNREACHABLE_REDIS
    response = Client().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["channelLayer"] == "unavailable" and body["database"] == "ok"
    assert body["code"] == "SERVICE_UNAVAILABLE" and "channelLayer" in body["message"]
