"""Django's ASGI handler: the whole middleware chain and view in ONE worker thread, and at
most MAX_CONCURRENT_REQUESTS requests in Django at once per process.

Every view behind Django here is synchronous (DRF, the admin, the page); the waiting
endpoints are plain ASGI applications routed ahead of Django (makima_site/asgi.py).

One thread: Django's own ASGIHandler loads the middleware for async mode, so each
MiddlewareMixin hook (process_request/view/response) runs through its own sync_to_async hop,
and a sync-only middleware bounces the chain back to the event loop and out again — about a
dozen thread switches per request, a third of a plain request's cost on a 2-core machine.
Here the chain is loaded in sync mode and entered with one hop into the request's thread
(asgiref's ThreadSensitiveContext, as Django sets up per request). An async view (/healthz)
still works: Django adapts it with async_to_sync, which runs it on the server's event loop.

Bounded: Django gives every request a thread of its own, so past capacity the threads pile
up (hundreds per process in the soak), fight over the GIL and over the database pool, every
request slows down and they fail together with PoolTimeout. Here a request waits on the
event loop, holding no thread and no connection, until one of MAX_CONCURRENT_REQUESTS slots
(by default 3 × the pool's size) is free; one that waited REQUEST_QUEUE_TIMEOUT seconds gets
503 SERVICE_UNAVAILABLE with Retry-After instead. The body has been read before a request
queues, and the response is sent after it leaves its slot.

Logins: a password hash (PBKDF2) takes a core for most of a second, so a flood of login
posts would hold every request slot and every core. A view marked HASHES_PASSWORDS (both
login pages) first waits, still on the event loop, for one of MAX_CONCURRENT_LOGINS login
slots; one that waited LOGIN_QUEUE_TIMEOUT seconds gets 429 with Retry-After. So at most
that many slots ever hash, and other requests find theirs free.
"""

import asyncio
import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpResponse
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


class SyncChainASGIHandler(ASGIHandler):
    def __init__(self):
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self._slots = PerLoop(lambda: asyncio.Semaphore(settings.MAX_CONCURRENT_REQUESTS))
        self._login_slots = PerLoop(lambda: asyncio.Semaphore(settings.MAX_CONCURRENT_LOGINS))

    def slots(self) -> asyncio.Semaphore:
        """The running loop's request slots (one loop per daphne process)."""
        return self._slots.get()

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
        slots = self.slots()
        try:
            async with asyncio.timeout(settings.REQUEST_QUEUE_TIMEOUT):
                await slots.acquire()
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
            return await sync_to_async(self.get_response, thread_sensitive=True)(request)
        finally:
            slots.release()


def get_asgi_application() -> SyncChainASGIHandler:
    """django.core.asgi.get_asgi_application(), with the handler above."""
    import django

    django.setup(set_prefix=False)
    return SyncChainASGIHandler()
