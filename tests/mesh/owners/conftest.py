"""The feed's in-process socket fixture, for the owner tests that watch sockets close."""

from tests.mesh.feed.conftest import sockets as sockets
