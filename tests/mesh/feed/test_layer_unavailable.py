"""Redis down: a feed handshake is accepted and closed with 1013 (try again later), never a
500, and the server logs no traceback for it (only /healthz reports the outage)."""

import json

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.live_daphne import DaphneServer, free_port, server_env

pytestmark = pytest.mark.django_db(transaction=True)

FEED = "/ws/v1/mesh/questions/"


def test_feed_handshake_with_redis_down_closes_1013(owner_token):
    """A daphne pointed at a Redis port with nothing listening: the socket opens (101) and
    is closed with 1013 before any frame (on main: HTTP 500 at the handshake)."""
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    server = DaphneServer("redis-down", server_env(REDIS_URL=dead_redis), healthy=(503,))
    try:
        with (
            connect(
                server.ws_url + FEED,
                subprotocols=["makima.bearer", owner_token],  # type: ignore[list-item]
                origin=server.base_url,  # type: ignore[arg-type]
                open_timeout=10,
            ) as socket,
            pytest.raises(ConnectionClosed) as closed,
        ):
            frame = socket.recv(timeout=10)
            pytest.fail(f"got a frame: {json.loads(frame)}")
    finally:
        server.stop()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1013
    log = server.log_path.read_text()
    assert "Exception inside application" not in log
    assert "mesh/feed/consumers.py" not in log  # no traceback through the consumer
