"""Websocket close codes daphne refuses to send.

Autobahn, under daphne, lets a server close a socket only with 1000 or 3000-4999; the
codes RFC 6455's registry gives servers for their own trouble (1011 internal error, 1012
service restart, 1013 try again later, 1014 bad gateway) raise inside daphne instead, and
the client never gets a close frame. The feed closes with 1013 when the channel layer
(Redis) is unreachable (mesh/feed/consumers.py), so makima_site/asgi.py installs this
protocol, which sends those codes as they are.
"""

from typing import Any

from daphne import ws_protocol  # type: ignore[import-untyped]

SERVER_CLOSE_CODES = frozenset({1011, 1012, 1013, 1014})


class CloseCodeWebSocketProtocol(ws_protocol.WebSocketProtocol):
    def serverClose(self, code: Any = None) -> None:  # noqa: N802 (daphne's name)
        if code in SERVER_CLOSE_CODES:
            self.sendCloseFrame(code=code, isReply=False)
        else:
            super().serverClose(code)


def install_daphne_close_codes() -> None:
    """Make daphne's websocket factory build CloseCodeWebSocketProtocol."""
    ws_protocol.WebSocketFactory.protocol = CloseCodeWebSocketProtocol
