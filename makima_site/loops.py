"""Per-event-loop state: one object per running loop (one loop per daphne process, one per
test), and the server loop a request runs on."""

import asyncio
import weakref
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class PerLoop(Generic[T]):
    """`factory()`'s object for the running loop, made on first use; dropped with the loop.

    `replace_if` names objects that must be made anew (a closed hub, say).
    """

    def __init__(self, factory: Callable[[], T], *, replace_if: Callable[[T], bool] | None = None):
        self._factory = factory
        self._replace_if = replace_if
        self._objects: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = (
            weakref.WeakKeyDictionary()
        )

    def get(self) -> T:
        loop = asyncio.get_running_loop()
        obj = self._objects.get(loop)
        if obj is None or (self._replace_if is not None and self._replace_if(obj)):
            obj = self._objects[loop] = self._factory()
        return obj

    def peek(self) -> T | None:
        """The running loop's object if one was made (and is not to be replaced), else None."""
        obj = self._objects.get(asyncio.get_running_loop())
        if obj is None or (self._replace_if is not None and self._replace_if(obj)):
            return None
        return obj

    def pop(self) -> T | None:
        """Forget the running loop's object and return it (test teardown)."""
        return self._objects.pop(asyncio.get_running_loop(), None)


# The event loop of the server process that runs the current request: set by the ASGI entry
# (bind_server_loop) and carried into the worker threads that run sync code, since asgiref's
# sync_to_async runs them in a copy of the caller's context. None outside a server (a
# management command, a plain test).
_server_loop: ContextVar[asyncio.AbstractEventLoop | None] = ContextVar(
    "makima_server_loop", default=None
)


def server_loop() -> asyncio.AbstractEventLoop | None:
    """The running server loop of this request, if any (see _server_loop)."""
    loop = _server_loop.get()
    return loop if loop is not None and loop.is_running() and not loop.is_closed() else None


def bind_server_loop(app: Any, *, on_request: Callable[[], None] | None = None) -> Any:
    """An ASGI application that runs `app` with its event loop recorded as the server loop;
    `on_request` runs first on each connection (e.g. to start a process's background work)."""

    async def application(scope: Any, receive: Any, send: Any) -> Any:
        _server_loop.set(asyncio.get_running_loop())
        if on_request is not None:
            on_request()
        return await app(scope, receive, send)

    return application
