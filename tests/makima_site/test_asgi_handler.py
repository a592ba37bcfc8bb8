"""makima_site.asgi_handler: Django's chain runs in one worker thread per request."""

import asyncio
import json
import threading
from types import SimpleNamespace

import pytest
from channels.testing import HttpCommunicator
from django.http import HttpResponse

from makima_site import middleware
from makima_site.asgi import application, django_asgi_app
from makima_site.asgi_handler import SyncChainASGIHandler
from mesh.credentials import authentication
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


async def test_requests_beyond_the_slots_wait_without_a_thread_then_get_503(settings):
    """At most MAX_CONCURRENT_REQUESTS requests are in Django at once; the next one waits on
    the loop, and one that waited REQUEST_QUEUE_TIMEOUT gets 503 with Retry-After."""
    settings.MAX_CONCURRENT_REQUESTS = 1
    settings.REQUEST_QUEUE_TIMEOUT = 0.2
    handler = SyncChainASGIHandler()
    release = threading.Event()
    entered = []

    def slow_get_response(request):
        entered.append(request.path)
        release.wait(5)
        return HttpResponse("done")

    handler.get_response = slow_get_response
    first = asyncio.ensure_future(handler.get_response_async(SimpleNamespace(path="/first")))
    while not entered:
        await asyncio.sleep(0.01)
    threads_before = threading.active_count()
    second = await handler.get_response_async(SimpleNamespace(path="/second"))
    assert threading.active_count() == threads_before  # the queued request had no thread
    assert second.status_code == 503
    assert json.loads(second.content)["code"] == "SERVICE_UNAVAILABLE"
    assert second["Retry-After"] == "1"
    assert entered == ["/first"]
    third = asyncio.ensure_future(handler.get_response_async(SimpleNamespace(path="/third")))
    await asyncio.sleep(0.05)
    assert entered == ["/first"]  # still queued behind the first
    release.set()
    assert (await first).status_code == 200
    assert (await third).status_code == 200
    assert entered == ["/first", "/third"]


async def test_a_hung_up_request_keeps_its_worker_until_its_view_ends(settings):
    """Django cancels the request's task when the client hangs up; the view still runs in its
    worker thread, so the worker (and Django's cleanup, which closes the body) waits for it."""
    settings.MAX_CONCURRENT_REQUESTS = 1
    handler = SyncChainASGIHandler()
    release = threading.Event()
    finished = []

    def slow_get_response(request):
        release.wait(5)
        finished.append(request.path)
        return HttpResponse("done")

    handler.get_response = slow_get_response
    request = asyncio.ensure_future(handler.get_response_async(SimpleNamespace(path="/gone")))
    while handler.pool().busy == 0:
        await asyncio.sleep(0.01)
    request.cancel()
    await asyncio.sleep(0.05)
    assert not request.done()  # still waiting for the view
    assert handler.pool().busy == 1
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await request
    assert finished == ["/gone"]
    assert handler.pool().busy == 0


async def test_requests_run_on_a_fixed_pool_of_threads(owner_token, settings):
    """Many requests, few threads: the pool's threads serve them all."""
    settings.MAX_CONCURRENT_REQUESTS = 2
    handler = SyncChainASGIHandler()
    seen = set()

    def get_response(request):
        seen.add(threading.get_ident())
        return HttpResponse("ok")

    handler.get_response = get_response
    replies = await asyncio.gather(
        *(handler.get_response_async(SimpleNamespace(path=f"/{i}")) for i in range(20))
    )
    assert all(reply.status_code == 200 for reply in replies)
    assert 1 <= len(seen) <= 2
