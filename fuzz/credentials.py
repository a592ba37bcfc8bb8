"""The wrong kinds of credential, on every operation of the schema (run by fuzz/run.py).

Schemathesis sends each operation the credential it accepts (fuzz/schemathesis.toml), so
this pass sends the others: nothing at all, a credential that does not exist, and the wrong
kind — the task's tool key to an owner endpoint, the owner's token to a task endpoint, a
session cookie with no CSRF token to an unsafe owner endpoint. Each must be refused with 401
or 403 in the contract's error shape ({code, message}) — and a session cookie on a safe owner
endpoint must be accepted (the page reads the API that way).

Path ids are real (fuzz/hooks.py makes them), so a refusal is about the credential, never a
404 for an id that does not exist.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests

SAFE = {"GET", "HEAD", "OPTIONS"}
HTTP_METHODS = {"get", "put", "post", "delete", "patch"}


@dataclass
class Credentials:
    token: str
    tool_key: str
    session_id: str


@dataclass
class Probe:
    operation: str
    kind: str
    headers: dict[str, str]
    cookies: dict[str, str]
    allowed: set[int]


def schemes_of(operation: dict[str, Any]) -> set[str]:
    return {name for requirement in operation.get("security", []) for name in requirement}


def probes(operation_name: str, operation: dict[str, Any], creds: Credentials) -> Iterator[Probe]:
    schemes = schemes_of(operation)
    if not schemes:
        return
    method = operation_name.split(" ", 1)[0]
    refused = {401, 403}
    token = {"Authorization": f"Bearer {creds.token}"}
    tool_key = {"X-Makima-Tool-Key": creds.tool_key}
    session = {"sessionid": creds.session_id}
    unknown = "x" * 40
    yield Probe(operation_name, "no credential", {}, {}, refused)
    if "tool_key" in schemes:
        yield Probe(operation_name, "unknown tool key", {"X-Makima-Tool-Key": unknown}, {}, refused)
        yield Probe(operation_name, "owner token", token, {}, refused)
        yield Probe(operation_name, "owner session", {}, session, refused)
    else:
        yield Probe(
            operation_name, "unknown token", {"Authorization": f"Bearer {unknown}"}, {}, refused
        )
        yield Probe(operation_name, "task tool key", tool_key, {}, refused)
        if "cookieAuth" in schemes and method not in SAFE:
            yield Probe(operation_name, "session without CSRF", {}, session, {403})
        elif "cookieAuth" in schemes:
            yield Probe(operation_name, "owner session", {}, session, set(range(200, 300)))


def check(
    base_url: str, schema: dict[str, Any], creds: Credentials, real_path: Any
) -> tuple[int, list[str]]:
    """Run every probe; (how many ran, the failures). real_path(method, path) gives a URL path
    with real ids, or None to skip the operation."""
    failures = []
    ran = 0
    session = requests.Session()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            name = f"{method.upper()} {path}"
            for probe in probes(name, operation, creds):
                concrete = real_path(method.upper(), path)
                if concrete is None:
                    continue
                body = {} if method in {"post", "put", "patch"} else None
                response = session.request(
                    method.upper(),
                    f"{base_url}{concrete}",
                    json=body,
                    headers=probe.headers,
                    cookies=probe.cookies,
                    timeout=10,
                )
                ran += 1
                if response.status_code not in probe.allowed:
                    failures.append(f"{name} with {probe.kind}: {response.status_code}")
                elif response.status_code >= 400 and not _is_error_body(response):
                    failures.append(f"{name} with {probe.kind}: not an error body")
    return ran, failures


def _is_error_body(response: requests.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and {"code", "message"} <= set(body)
