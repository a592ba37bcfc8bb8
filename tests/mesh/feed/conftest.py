"""Feed sockets through the real ASGI app: open, authenticate, read frames."""

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client

from makima_site.asgi import application
from tests.mesh.conftest import in_thread

PATH = "/ws/v1/mesh/questions/"
ORIGIN = (b"origin", b"http://testserver")
# A browser's handshake names the host it is addressed to; the Origin must match it.
HOST = (b"host", b"testserver")


class Communicator(WebsocketCommunicator):
    """Waits up to 5 s for each frame (not 1 s): a loaded CI machine must not fail a test
    that would pass; a frame that never comes still fails it."""

    async def connect(self, timeout=5):
        return await super().connect(timeout)

    async def receive_output(self, timeout=5):
        return await super().receive_output(timeout)

    async def receive_from(self, timeout=5):
        return await super().receive_from(timeout)

    async def receive_json_from(self, timeout=5):
        return await super().receive_json_from(timeout)


@pytest.fixture
async def sockets():
    """Open feed sockets; every one is disconnected at teardown."""
    opened: list[Communicator] = []

    async def open_socket(*, headers=(), subprotocols=None, path=PATH, origin=ORIGIN):
        communicator = Communicator(
            application,
            path,
            headers=[HOST, *([origin] if origin else []), *headers],
            subprotocols=subprotocols,
        )
        opened.append(communicator)
        connected, detail = await communicator.connect()
        return communicator, connected, detail

    yield open_socket
    for communicator in opened:
        await communicator.disconnect()


@pytest.fixture
def session_cookie():
    """A Cookie header carrying a logged-in session of the given user."""

    @in_thread
    def build(user) -> tuple[bytes, bytes]:
        client = Client()
        client.force_login(user)
        session_id = client.cookies[django_settings.SESSION_COOKIE_NAME].value
        return (b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={session_id}".encode())

    return build


@pytest.fixture
async def owner_socket(sockets, owner_token):
    """An owner's socket connected by token, with its snapshot already read."""
    communicator, connected, _ = await sockets(subprotocols=["makima.bearer", owner_token])
    assert connected
    snapshot = await communicator.receive_json_from()
    assert snapshot["type"] == "snapshot"
    return communicator
