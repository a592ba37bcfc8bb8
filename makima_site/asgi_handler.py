"""Django's ASGI handler with the whole middleware chain and view in ONE worker thread.

Every view behind Django here is synchronous (DRF, the admin, the page); the waiting
endpoints are Channels consumers routed ahead of Django (makima_site/asgi.py). Django's own
ASGIHandler loads the middleware for async mode: each MiddlewareMixin hook
(process_request/view/response) then runs through its own sync_to_async hop, and a
sync-only middleware bounces the chain back to the event loop and out again — about a dozen
thread switches per request, measured at a third of a plain request's cost on a 2-core
machine. Here the chain is loaded in sync mode and the request enters it with one hop into
the request's thread (asgiref's ThreadSensitiveContext, as Django sets up per request), the
same thread Django's sync views run in anyway. An async view (/healthz) still works: Django
adapts it with async_to_sync, which runs it on the server's event loop.
"""

from asgiref.sync import sync_to_async
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler


class SyncChainASGIHandler(ASGIHandler):
    def __init__(self):
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


def get_asgi_application() -> SyncChainASGIHandler:
    """django.core.asgi.get_asgi_application(), with the handler above."""
    import django

    django.setup(set_prefix=False)
    return SyncChainASGIHandler()
