"""`make run`'s first step: stop at once, with one line, when HOST:PORT is taken — before
anything is migrated or any credential printed. Standard library only, so it runs before
the virtualenv is installed:

    python3 mesh/demo/portcheck.py 127.0.0.1 8000   # exit 0 when free, 1 with a message
"""

import errno
import socket
import sys


def port_problem(host: str, port: int) -> str | None:
    """Why daphne could not listen on host:port, or None when it could."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"cannot serve on {host}:{port}: unknown host ({exc.strerror})"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # As daphne (Twisted) binds: SO_REUSEADDR, so a port in TIME_WAIT counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
            probe.listen(1)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (
                    f"port {port} on {host} is already in use (another server is running); "
                    f"stop it or pick another port: make run PORT={port + 1}"
                )
            return f"cannot serve on {host}:{port}: {exc.strerror}"
    return None


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[1].isdigit():
        print("usage: portcheck.py HOST PORT", file=sys.stderr)
        return 2
    problem = port_problem(argv[0], int(argv[1]))
    if problem is None:
        return 0
    print(f"make run: {problem}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
