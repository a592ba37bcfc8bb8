"""makima_site.asgi_handler: Django's chain runs in one worker thread per request."""

import asyncio
import json
import threading

import pytest
from channels.testing import HttpCommunicator

from makima_site import middleware
from makima_site.asgi import application, django_asgi_app
from makima_site.asgi_handler import SyncChainASGIHandler
from mesh import authentication
from tests import factories
from tests.mesh.conftest import in_thread

pytestmark = pytest.mark.django_db(transaction=True)


async def _get(path: str, headers=()) -> tuple[int, bytes]:
    comm = HttpCommunicator(application, "GET", path, headers=[(b"host", b"testserver"), *headers])
    reply = await comm.get_response(timeout=5)
    await comm.send_input({"type": "http.disconnect"})
    await comm.wait(timeout=1)
    return reply["status"], reply["body"]


def test_the_middleware_chain_is_loaded_in_sync_mode():
    assert isinstance(django_asgi_app, SyncChainASGIHandler)
    assert not asyncio.iscoroutinefunction(django_asgi_app._middleware_chain)


async def test_middleware_and_view_share_the_requests_thread(monkeypatch):
    """No hop between the middleware and the view: both run in the request's thread."""
    owner = await in_thread(factories.make_owner)()
    token = await in_thread(factories.make_token)(owner)
    threads = {}
    real_call = middleware.BodySizeLimitMiddleware.__call__
    real_auth = authentication.owner_from_token

    def call(self, request):
        threads["middleware"] = threading.get_ident()
        return real_call(self, request)

    def auth(raw):
        threads["view"] = threading.get_ident()
        return real_auth(raw)

    monkeypatch.setattr(middleware.BodySizeLimitMiddleware, "__call__", call)
    monkeypatch.setattr(authentication, "owner_from_token", auth)
    status, body = await _get(
        "/api/v1/directives/", headers=[(b"authorization", f"Bearer {token}".encode())]
    )
    assert status == 200, body
    assert threads["middleware"] == threads["view"] != threading.get_ident()


async def test_an_async_view_still_runs_on_the_event_loop():
    """/healthz is an async view: it checks the channel layer from the server's loop."""
    status, body = await _get("/healthz")
    assert status == 200
    assert json.loads(body)["channelLayer"] == "ok"
