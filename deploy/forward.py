"""A TCP forwarder: the local cluster's hosts reach PostgreSQL and Redis through it.

The cluster runs one per host and service in the root namespace, listening on the host's
gateway address and connecting to the service where DATABASE_URL / REDIS_URL say, so the
services keep listening on loopback only and their configuration is not touched. socat does
the job when installed; this module is the fallback (`python -m deploy.forward LISTEN TARGET`,
each host:port).
"""

from __future__ import annotations

import asyncio
import shutil
import sys


def command(listen: tuple[str, int], target: tuple[str, int], python: str) -> list[str]:
    """The forwarder's command line: socat if installed, else this module."""
    socat = shutil.which("socat")
    if socat:
        return [
            socat,
            f"TCP-LISTEN:{listen[1]},bind={listen[0]},fork,reuseaddr,backlog=512",
            f"TCP:{target[0]}:{target[1]}",
        ]
    return [python, "-m", "deploy.forward", f"{listen[0]}:{listen[1]}", f"{target[0]}:{target[1]}"]


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def _serve(listen: tuple[str, int], target: tuple[str, int]) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    server = await asyncio.start_server(handle, *listen, backlog=512)
    async with server:
        await server.serve_forever()


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


if __name__ == "__main__":
    asyncio.run(_serve(_address(sys.argv[1]), _address(sys.argv[2])))
