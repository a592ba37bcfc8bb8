"""The current request's facts that its access line reports: its id, route, and who called.

The ASGI wrapper (makima_site/observability/asgi.py) sets one RequestInfo per request in a
context variable; asgiref and asyncio copy the context into worker threads and tasks, so
code anywhere in the request (authentication, the views' route) fills it in. Only ids are
kept: never a token, a key or a name.
"""

import contextvars
from dataclasses import dataclass
from typing import Any


@dataclass
class RequestInfo:
    request_id: str
    method: str
    route: str | None = None
    owner_id: Any = None
    task_id: Any = None


_current: contextvars.ContextVar[RequestInfo | None] = contextvars.ContextVar(
    "makima_request_info", default=None
)


def current() -> RequestInfo | None:
    return _current.get()


def begin(info: RequestInfo) -> contextvars.Token[RequestInfo | None]:
    return _current.set(info)


def end(token: contextvars.Token[RequestInfo | None]) -> None:
    _current.reset(token)


def note_owner(owner_id: Any) -> None:
    """The request is an owner's (authenticated by token or session)."""
    info = _current.get()
    if info is not None:
        info.owner_id = owner_id


def note_task(task_id: Any, owner_id: Any) -> None:
    """The request is a task's (authenticated by its tool key), on behalf of its owner."""
    info = _current.get()
    if info is not None:
        info.task_id, info.owner_id = task_id, owner_id


def note_route(route: str) -> None:
    info = _current.get()
    if info is not None:
        info.route = route
