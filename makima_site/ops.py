"""GET /_ops/wakehub: this process's wake hub, database pool, publish and login slot
counters, as JSON.

Off by default (404, as for any unknown path). MESH_OPS_ENDPOINTS=1 turns it on; the fault
tests use it to measure, inside a real daphne process, that requests which ended (answered,
timed out, or hung up) left no futures behind and no pool connection checked out. It shows
counts only: no ids, no secrets.
"""

from typing import Any

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse

from makima_site.asgi_handler import login_stats
from makima_site.errors import handler404


def _pool_stats() -> dict[str, Any] | None:
    """psycopg_pool's counters of the default database's pool (None without a pool)."""
    pool = getattr(connections["default"], "pool", None)  # only PostgreSQL's backend has one
    if pool is None:
        return None
    stats = pool.get_stats()
    size, available = stats.get("pool_size", 0), stats.get("pool_available", 0)
    return {
        "size": size,
        "available": available,
        "inUse": size - available,
        "waiting": stats.get("requests_waiting", 0),
        "minSize": pool.min_size,
        "maxSize": pool.max_size,
    }


async def wakehub(request: HttpRequest) -> HttpResponse:
    if not settings.MESH_OPS_ENDPOINTS:
        return handler404(request)
    from mesh.events.publisher import publish_stats
    from mesh.wakeups.hub import existing_hub

    hub = existing_hub()
    body = {
        "hub": None
        if hub is None
        else {
            "futures": hub.future_count,
            "questions": hub.question_count,
            "listenerAlive": hub.listener_alive,
            "listening": hub.listening,
            "listenerStarts": hub.listener_starts,
            "wakesReceived": hub.wakes_received,
        },
        "pool": _pool_stats(),
        "publish": dict(publish_stats),
        "logins": dict(login_stats),
    }
    return JsonResponse(body, headers={"Cache-Control": "no-store"})
