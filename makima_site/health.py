"""GET /healthz: is the database reachable, is the channel layer reachable."""

import asyncio
import logging

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.http import JsonResponse

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
    try:
        channel = await asyncio.wait_for(layer.new_channel("healthz."), _CHECK_TIMEOUT_SECONDS)
        await asyncio.wait_for(
            layer.send(channel, {"type": "healthz.ping"}), _CHECK_TIMEOUT_SECONDS
        )
        await asyncio.wait_for(layer.receive(channel), _CHECK_TIMEOUT_SECONDS)
        return True
    except Exception:
        logger.warning("Health check: channel layer unreachable", exc_info=True)
        return False


async def healthz(request):
    database = await asyncio.wait_for(database_sync_to_async(_database_ok)(), 10)
    layer = await _channel_layer_ok()
    body = {
        "status": "ok" if database and layer else "unavailable",
        "database": "ok" if database else "unavailable",
        "channelLayer": "ok" if layer else "unavailable",
    }
    return JsonResponse(body, status=200 if database and layer else 503)
