"""The ASGI wrapper around every HTTP request (the waiting endpoints and Django alike): its
request id, its metrics and, with LOG_FORMAT=json, its one access line.

The request id is the client's X-Request-ID when it is a sane token (1-128 characters of
letters, digits and `._:-`), else a new one; the response carries it back in X-Request-ID.
The duration runs from the request's arrival to its response's last byte. A client that
hung up before any response is counted with status 499.
"""

import logging
import re
import time
import uuid
from typing import Any

from django.conf import settings

from makima_site.observability import context, metrics
from makima_site.observability.logging import ACCESS_LOGGER
from makima_site.observability.routes import route_of

access_logger = logging.getLogger(ACCESS_LOGGER)
REQUEST_ID_HEADER = b"x-request-id"
_SANE_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
CLIENT_CLOSED = 499


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == REQUEST_ID_HEADER and _SANE_ID.match(value):
            return value.decode("ascii")
    return uuid.uuid4().hex


class ObservabilityMiddleware:
    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        info = context.RequestInfo(
            request_id=request_id_from(scope.get("headers", [])), method=scope["method"]
        )
        header = (REQUEST_ID_HEADER, info.request_id.encode("ascii"))
        status: list[int] = []
        finished: list[float] = []

        async def send_observed(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                message = {**message, "headers": [*message.get("headers", ()), header]}
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                finished.append(time.perf_counter())
            await send(message)

        token = context.begin(info)
        try:
            await self.app(scope, receive, send_observed)
        except BaseException:
            if not status:
                status.append(500)
            raise
        finally:
            end = finished[0] if finished else time.perf_counter()
            self._served(info, scope["path"], status[0] if status else CLIENT_CLOSED, end - started)
            context.end(token)

    @staticmethod
    def _served(info: context.RequestInfo, path: str, status: int, seconds: float) -> None:
        route = info.route or route_of(path)
        metrics.request_served(info.method, route, status, seconds)
        if settings.LOG_FORMAT == "json":
            access_logger.info(
                "%s %s %s",
                info.method,
                route,
                status,
                extra={
                    "requestId": info.request_id,
                    "method": info.method,
                    "route": route,
                    "status": status,
                    "duration": round(seconds, 6),
                    "ownerId": info.owner_id,
                    "taskId": None if info.task_id is None else str(info.task_id),
                },
            )
