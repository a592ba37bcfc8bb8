"""What both clients share: configuration, credentials, and each method as a flow
(makima_client._flows). The two drivers differ only in how they do I/O."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import httpx

from makima_client import _flows
from makima_client._flows import ASK_PATH, Call, Flow, RetryPolicy
from makima_client.errors import NotFound
from makima_client.models import Outcome, Secret, as_secret, new_idempotency_key, outcome_from_reply

__version__ = "0.1.0"
DEFAULT_URL = "http://127.0.0.1:8000"
# A blocking ask is held up to the server's block wait (300 s by default), so the read
# timeout sits above it; connecting and writing are short.
DEFAULT_TIMEOUT = httpx.Timeout(10.0, read=330.0)
TOOL_KEY_HEADER = "X-Makima-Tool-Key"
ORDERS_PATH = "/api/v1/mesh/supervisor/orders"
PENDING_PATH = "/api/v1/mesh/questions"
HISTORY_PATH = "/api/v1/questions/"


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class ClientBase:
    """Configuration and the flows behind every method of MakimaClient and
    AsyncMakimaClient. `tool_key` is the task's (`mtk_…`), for the supervisor calls;
    `token` the owner's API token (`mkt_…`), for the owner calls. Neither appears in a
    repr or a log line."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        tool_key: str | None = None,
        token: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._tool_key: Secret | None = as_secret(tool_key)
        self._token: Secret | None = as_secret(token)
        self.timeout = (
            timeout
            if isinstance(timeout, httpx.Timeout)
            else (DEFAULT_TIMEOUT if timeout is None else httpx.Timeout(timeout))
        )
        self.retry = retry or RetryPolicy()

    def __repr__(self) -> str:
        tool_key = "'***'" if self._tool_key else None
        token = "'***'" if self._token else None
        return f"{type(self).__name__}({self.base_url!r}, tool_key={tool_key}, token={token})"

    # Credentials -----------------------------------------------------------------------

    def _task_headers(self) -> dict[str, str]:
        return {TOOL_KEY_HEADER: self._tool_key.reveal()} if self._tool_key else {}

    def _owner_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token.reveal()}"} if self._token else {}

    @property
    def token(self) -> Secret | None:
        return self._token

    # Flows -----------------------------------------------------------------------------

    def _request(self, call: Call, *, budget: float | None = None) -> Flow:
        return _flows.request(call, self.retry, self.timeout.read, budget=budget)

    def _ask(
        self,
        question: str,
        *,
        choices: Iterable[str] = (),
        context: str | None = None,
        multi_select: bool = False,
        phaseguard: bool = False,
        non_blocking: bool = False,
        question_type: str = "general",
        ttl_seconds: int | None = None,
        max_wait: float | None = None,
        idempotency_key: str | None = None,
    ) -> Flow:
        body: dict[str, Any] = {
            "question": question,
            "choices": list(choices),
            "context": context,
            "multiSelect": multi_select,
            "phaseguard": phaseguard,
            "nonBlocking": non_blocking,
            "questionType": question_type,
        }
        if ttl_seconds is not None:
            body["ttlSeconds"] = ttl_seconds
        return _flows.ask_flow(
            body,
            self._task_headers(),
            self.retry,
            self.timeout.read,
            max_wait=max_wait,
            idempotency_key=idempotency_key or new_idempotency_key(),
        )

    def _poll(self, question_id: str) -> Flow:
        call = Call("GET", f"{ASK_PATH}/{question_id}/poll", headers=self._task_headers())
        body = yield from self._request(call)
        return outcome_from_reply(body)

    def _wait(self, question_id: str, max_wait: float | None) -> Flow:
        deadline = time.monotonic() + max_wait if max_wait is not None else None
        return _flows.wait_flow(
            question_id, self._task_headers(), self.retry, self.timeout.read, deadline=deadline
        )

    def _cancel(self, question_id: str, reason: str | None) -> Flow:
        body = {"reason": reason} if reason is not None else {}
        call = Call("DELETE", f"{ASK_PATH}/{question_id}", json=body, headers=self._task_headers())
        reply = yield from self._request(call)
        return Outcome(
            str(reply.get("questionId", question_id)), str(reply.get("status")), reason=reason
        )

    def _create_order(
        self,
        title: str,
        *,
        description: str | None = None,
        order_type: str = "spike",
        priority: str = "medium",
        labels: Iterable[str] = (),
        repository_url: str | None = None,
        idempotency_key: str | None = None,
    ) -> Flow:
        body: dict[str, Any] = {
            "title": title,
            "orderType": order_type,
            "priority": priority,
            "labels": list(labels),
        }
        if description is not None:
            body["description"] = description
        if repository_url is not None:
            body["repositoryUrl"] = repository_url
        headers = {
            **self._task_headers(),
            "Idempotency-Key": idempotency_key or new_idempotency_key(),
        }
        return self._request(Call("POST", ORDERS_PATH, json=body, headers=headers))

    def _pending(self) -> Flow:
        return self._request(Call("GET", PENDING_PATH, headers=self._owner_headers()))

    def _questions(self, filters: dict[str, Any]) -> Flow:
        params = {camel(name): value for name, value in filters.items() if value is not None}
        call = Call("GET", HISTORY_PATH, params=params, headers=self._owner_headers())
        try:
            body = yield from self._request(call)
        except NotFound:
            # A server without the history resource: its pending list is what there is.
            pending: list[dict[str, Any]] = yield from self._pending()
            return pending
        if isinstance(body, dict) and isinstance(body.get("results"), list):
            return body["results"]
        return body

    def _answer(self, question_id: str, response: str | Iterable[str]) -> Flow:
        if not isinstance(response, str):
            import json

            response = json.dumps(list(response))
        call = Call(
            "POST",
            f"{PENDING_PATH}/{question_id}/answer",
            json={"response": response},
            headers=self._owner_headers(),
        )
        return self._request(call)

    def _decline(self, question_id: str, reason: str | None) -> Flow:
        body = {"reason": reason} if reason is not None else {}
        call = Call(
            "POST",
            f"{PENDING_PATH}/{question_id}/decline",
            json=body,
            headers=self._owner_headers(),
        )
        return self._request(call)
