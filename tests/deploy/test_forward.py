"""deploy/forward.py: the fallback forwarder copies bytes both ways to its target."""

import asyncio
import contextlib

from deploy import forward
from tests.live_daphne import free_port


async def test_the_forwarder_carries_a_conversation_both_ways():
    async def echo(reader, writer):
        while data := await reader.read(1024):
            writer.write(data.upper())
            await writer.drain()
        writer.close()

    target = await asyncio.start_server(echo, "127.0.0.1", 0)
    target_port = target.sockets[0].getsockname()[1]
    listen_port = free_port()
    serving = asyncio.ensure_future(
        forward._serve(("127.0.0.1", listen_port), ("127.0.0.1", target_port))
    )
    try:
        for _ in range(100):
            with contextlib.suppress(OSError):
                reader, writer = await asyncio.open_connection("127.0.0.1", listen_port)
                break
            await asyncio.sleep(0.01)
        for word in (b"ping", b"again"):
            writer.write(word)
            await writer.drain()
            assert await asyncio.wait_for(reader.read(1024), 2) == word.upper()
        writer.close()
    finally:
        serving.cancel()
        target.close()


def test_the_command_is_socat_when_installed_else_this_module(monkeypatch):
    monkeypatch.setattr(forward.shutil, "which", lambda name: None)
    assert forward.command(("198.18.0.1", 5432), ("127.0.0.1", 5432), "py") == [
        "py",
        "-m",
        "deploy.forward",
        "198.18.0.1:5432",
        "127.0.0.1:5432",
    ]
    monkeypatch.setattr(forward.shutil, "which", lambda name: "/usr/bin/socat")
    socat = forward.command(("198.18.0.1", 5432), ("127.0.0.1", 5432), "py")
    assert socat[0] == "/usr/bin/socat"
    assert socat[1].startswith("TCP-LISTEN:5432,bind=198.18.0.1,fork")
    assert socat[2] == "TCP:127.0.0.1:5432"
