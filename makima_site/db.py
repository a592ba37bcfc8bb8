"""Running the ORM from async code (consumers, the feed, the websocket authentication)."""

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from channels.db import database_sync_to_async
from django.db import connection

P = ParamSpec("P")
R = TypeVar("R")


def db_step(func: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """`func` as an awaitable run in a worker thread, closing its connection in that thread.

    `sync_to_async(connection.close)` would close another thread's (unused) connection and
    leave this one open; with the pool, close() hands the connection back for the next step.
    thread_sensitive=False: steps of different requests run in parallel in the bounded
    default executor instead of queueing behind one shared thread.
    """

    @functools.wraps(func)
    def step(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        finally:
            connection.close()

    wrapped: Callable[P, Awaitable[R]] = database_sync_to_async(step, thread_sensitive=False)
    return wrapped
