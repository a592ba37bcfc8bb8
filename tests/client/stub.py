"""A scripted HTTP stub for forcing what a healthy server rarely does (429, 503, a dropped
connection): each request takes the next reply of the script and is recorded."""

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DROP = "drop"  # close the connection without replying


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Stub:
    script: list[Any]
    requests: list[Recorded] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "Stub":
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                stub.requests.append(
                    Recorded(
                        self.command,
                        self.path,
                        {key.lower(): value for key, value in self.headers.items()},
                        json.loads(raw) if raw else None,
                    )
                )
                reply = stub.script.pop(0) if len(stub.script) > 1 else stub.script[0]
                if reply == DROP:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                status, headers, body = reply
                data = json.dumps(body).encode()
                self.send_response(status)
                for key, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()


def answered(question_id: str = "7c9e6679-7425-40de-944b-e07fc1f90ae7", response: str = "yes"):
    return (
        200,
        {},
        {
            "questionId": question_id,
            "response": response,
            "timedOut": False,
            "stillPending": False,
            "status": "answered",
            "reason": None,
        },
    )


def refused(status: int, code: str, retry_after: str | None = None):
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return (status, headers, {"code": code, "message": f"{code.lower()} for now"})
