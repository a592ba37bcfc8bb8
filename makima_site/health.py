"""GET /healthz: is the database reachable, is the channel layer reachable."""

import asyncio
import logging
import uuid

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.http import JsonResponse

from makima_site.errors import json_error

logger = logging.getLogger(__name__)

_CHECK_TIMEOUT_SECONDS = 3.0


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True
    except Exception:
        logger.warning("Health check: database unreachable", exc_info=True)
        return False
    finally:
        connection.close()


async def _channel_layer_ok() -> bool:
    layer = get_channel_layer()
    # A plain channel name (no "!"), not layer.new_channel(): channels_redis receives every
    # process-local ("!") channel of a layer through ONE lock, held by whichever receive()
    # came first, and that receive only reads ITS real channel. Once the wake hub's listener
    # ("specific.<id>!") held it, a "healthz.<id>!" channel never got its message, and
    # /healthz said channelLayer unavailable for as long as the process lived.
    channel = f"healthz.{uuid.uuid4().hex}"
    try:
        await asyncio.wait_for(
            layer.send(channel, {"type": "healthz.ping"}), _CHECK_TIMEOUT_SECONDS
        )
        await asyncio.wait_for(layer.receive(channel), _CHECK_TIMEOUT_SECONDS)
        return True
    except Exception:
        logger.warning("Health check: channel layer unreachable", exc_info=True)
        return False


async def healthz(request):
    """200 when the database and the channel layer answer; 503 naming the part that did not."""
    if request.method not in ("GET", "HEAD"):
        response = json_error("METHOD_NOT_ALLOWED", "Use GET /healthz.", 405)
        response["Allow"] = "GET, HEAD"
        return response
    try:
        database = await asyncio.wait_for(database_sync_to_async(_database_ok)(), 10)
    except TimeoutError:
        logger.warning("Health check: database did not answer within 10 s")
        database = False
    layer = await _channel_layer_ok()
    parts = {"database": database, "channelLayer": layer}
    body = {"status": "ok", **{name: "ok" if ok else "unavailable" for name, ok in parts.items()}}
    failing = [name for name, ok in parts.items() if not ok]
    if not failing:
        return JsonResponse(body)
    body.update(
        status="unavailable",
        code="SERVICE_UNAVAILABLE",
        message=f"Unreachable: {', '.join(failing)}.",
    )
    return JsonResponse(body, status=503)
