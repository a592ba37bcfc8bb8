"""Django's ASGI handler: the whole middleware chain and view in ONE call on one of a fixed
pool of MAX_CONCURRENT_REQUESTS worker threads (settings_data.py has the defaults), and the
requests beyond them queued on the event loop.

Every view behind Django here is synchronous (DRF, the admin, the page); the waiting
endpoints are plain ASGI applications routed ahead of Django (makima_site/asgi.py).

One call: Django's own ASGIHandler loads the middleware for async mode, so each
MiddlewareMixin hook (process_request/view/response) runs through its own sync_to_async hop,
and a sync-only middleware bounces the chain back to the event loop and out again — about a
dozen thread switches per request, a third of a plain request's cost on a 2-core machine.
Here the chain is loaded in sync mode and entered with one hop into a worker thread. An async
view (/healthz) still works: Django adapts it with async_to_sync, which runs it on the
server's event loop.

A fixed pool, not a thread per request: Django (asgiref's ThreadSensitiveContext per
request) starts a new thread for every request, up to MAX_CONCURRENT_REQUESTS at once (30
by default before). On two cores they fought over the GIL: py-spy on one daphne at 8
connections found 70 % of the busy samples inside SQLite's `execute`, waiting to get the
GIL back, and the process served fewer requests at 8 connections than at 1
(bench/README.md, "Throughput").
Here each request runs on one of MAX_CONCURRENT_REQUESTS single-thread executors (asgiref's
ThreadSensitiveContext(executor=...), so every thread-sensitive call of the request, and
async_to_sync inside it, keeps working); the thread-sensitive calls Django makes around it
(the request_started signal, response.close) share one more thread. A request waits on the
event loop, holding no thread and no connection, in arrival order, until a worker is free;
one that waited REQUEST_QUEUE_TIMEOUT seconds gets 503 SERVICE_UNAVAILABLE with
Retry-After instead. The body has been read before a request queues, and the response is
sent after it leaves its worker. A client that hangs up while its view runs cancels the
request's task, but the view runs to its end in the worker, which stays taken until then
(otherwise the view could read a body Django had already closed: "I/O operation on closed
file" in the bench's logs). The worker closes its database connection after each
request (with the pool, that hands it back), as Django's request_finished would in the
request's own thread.

Logins: a password hash (PBKDF2) takes a core for most of a second, so a flood of login
posts would hold every worker and every core. A view marked HASHES_PASSWORDS (both
login pages) first waits, still on the event loop, for one of MAX_CONCURRENT_LOGINS login
slots; one that waited LOGIN_QUEUE_TIMEOUT seconds gets 429 with Retry-After. So at most
that many workers ever hash, and other requests find theirs free.
"""

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import Resolver404, resolve

from makima_site.errors import json_error
from makima_site.loops import PerLoop

logger = logging.getLogger(__name__)


# A view with this attribute set hashes passwords (the login pages: mesh/owners/
# login_limits.py). Its POSTs first take one of MAX_CONCURRENT_LOGINS login slots, waiting
# on the event loop (no request slot held) for at most LOGIN_QUEUE_TIMEOUT, else 429.
HASHES_PASSWORDS = "hashes_passwords"
# This process's login slot counters (shown by /_ops/wakehub).
login_stats = {"waiting": 0, "inFlight": 0, "refused": 0}


def _hashes_passwords(request) -> bool:
    if getattr(request, "method", None) != "POST":
        return False
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    return bool(getattr(match.func, HASHES_PASSWORDS, False))


def _too_many_logins() -> HttpResponse:
    response = HttpResponse(
        "Too many logins at once; try again in a moment.\n",
        status=429,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = "1"
    return response


class WorkerPool:
    """`size` single-thread executors, and the queue of the free ones (arrival order)."""

    def __init__(self, size: int):
        self.size = size
        self.free: asyncio.Queue[ThreadPoolExecutor] = asyncio.Queue()
        for index in range(size):
            self.free.put_nowait(
                ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"django-worker-{index}")
            )
        # request_started's receivers and response.close(): small, and one at a time.
        self.around = ThreadPoolExecutor(max_workers=1, thread_name_prefix="django-around")

    @property
    def busy(self) -> int:
        return self.size - self.free.qsize()


class SyncChainASGIHandler(ASGIHandler):
    def __init__(self):
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self._pools = PerLoop(lambda: WorkerPool(settings.MAX_CONCURRENT_REQUESTS))
        self._login_slots = PerLoop(lambda: asyncio.Semaphore(settings.MAX_CONCURRENT_LOGINS))

    def pool(self) -> WorkerPool:
        """The running loop's workers (one loop per daphne process)."""
        return self._pools.get()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        async with ThreadSensitiveContext(executor=self.pool().around):
            await self.handle(scope, receive, send)

    async def get_response_async(self, request):
        if not _hashes_passwords(request):
            return await self._in_a_slot(request)
        login_slots = self._login_slots.get()
        login_stats["waiting"] += 1
        try:
            async with asyncio.timeout(settings.LOGIN_QUEUE_TIMEOUT):
                await login_slots.acquire()
        except TimeoutError:
            login_stats["refused"] += 1
            return _too_many_logins()
        finally:
            login_stats["waiting"] -= 1
        login_stats["inFlight"] += 1
        try:
            return await self._in_a_slot(request)
        finally:
            login_stats["inFlight"] -= 1
            login_slots.release()

    async def _in_a_slot(self, request):
        pool = self.pool()
        try:
            async with asyncio.timeout(settings.REQUEST_QUEUE_TIMEOUT):
                worker = await pool.free.get()
        except TimeoutError:
            logger.warning(
                "Request queued over %ss: %s", settings.REQUEST_QUEUE_TIMEOUT, request.path
            )
            response = json_error(
                "SERVICE_UNAVAILABLE", "The server is busy; retry in a moment.", 503
            )
            response["Retry-After"] = "1"
            return response
        try:
            async with ThreadSensitiveContext(executor=worker):
                call = asyncio.ensure_future(
                    sync_to_async(self._respond, thread_sensitive=True)(request)
                )
                try:
                    return await asyncio.shield(call)
                except asyncio.CancelledError:
                    # The client hung up (Django cancels the request's task). The view runs
                    # on in its thread: hold its worker, and Django's cleanup (which closes
                    # the request body), until it is done.
                    with contextlib.suppress(Exception):
                        await call
                    raise
        finally:
            pool.free.put_nowait(worker)

    def _respond(self, request: HttpRequest) -> HttpResponseBase:
        close_old_connections()
        try:
            return self.get_response(request)
        finally:
            close_old_connections()


def get_asgi_application() -> SyncChainASGIHandler:
    """django.core.asgi.get_asgi_application(), with the handler above."""
    import django

    django.setup(set_prefix=False)
    return SyncChainASGIHandler()
