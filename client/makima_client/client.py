"""MakimaClient: the blocking client (httpx.Client). Its methods are
AsyncMakimaClient's, without `await`."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpx

from makima_client._base import ClientBase, __version__
from makima_client._flows import Call, Flow, Sleep
from makima_client.models import Outcome


class MakimaClient(ClientBase):
    """A client of one Makima server.

    >>> client = MakimaClient("http://127.0.0.1:8000", tool_key="mtk_…")
    >>> outcome = client.ask("Deploy to production?", choices=["yes", "no"])
    >>> outcome.status, outcome.response
    ('answered', 'yes')

    Use it as a context manager, or call `close()`, to release its connections.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=self.timeout,
            headers={"User-Agent": f"makima-client/{__version__}"},
        )

    def __enter__(self) -> MakimaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _run(self, flow: Flow) -> Any:
        step = next(flow)
        while True:
            reply: httpx.Response | Exception | None
            if isinstance(step, Sleep):
                time.sleep(step.seconds)
                reply = None
            else:
                reply = self._do(step)
            try:
                step = flow.send(reply)
            except StopIteration as stop:
                return stop.value

    def _do(self, call: Call) -> httpx.Response | Exception:
        timeout = self.timeout
        if call.timeout is not None:
            timeout = httpx.Timeout(
                self.timeout.connect,
                read=call.timeout,
                write=self.timeout.write,
                pool=self.timeout.pool,
            )
        try:
            return self._http.request(
                call.method,
                call.path,
                json=call.json,
                params=call.params,
                headers=call.headers,
                timeout=timeout,
            )
        except httpx.TransportError as exc:
            return exc

    # Task side -------------------------------------------------------------------------

    def ask(
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
    ) -> Outcome:
        """Ask the owner and wait for the outcome.

        `question_type` is general, phase_confirmation or contract_complete. A blocking ask
        re-polls after stillPending until the question settles or `max_wait` seconds pass
        (then the outcome is pending). Every retry reuses the Idempotency-Key (generated
        when not given), so a retry never creates a second question.
        """
        result: Outcome = self._run(
            self._ask(
                question,
                choices=choices,
                context=context,
                multi_select=multi_select,
                phaseguard=phaseguard,
                non_blocking=non_blocking,
                question_type=question_type,
                ttl_seconds=ttl_seconds,
                max_wait=max_wait,
                idempotency_key=idempotency_key,
            )
        )
        return result

    def poll(self, question_id: str) -> Outcome:
        """One poll: the server waits up to its poll wait, then says where the question is."""
        result: Outcome = self._run(self._poll(question_id))
        return result

    def wait(self, question_id: str, *, max_wait: float | None = None) -> Outcome:
        """Poll until the question settles or `max_wait` passes (then it is pending)."""
        result: Outcome = self._run(self._wait(question_id, max_wait))
        return result

    def cancel(self, question_id: str, reason: str | None = None) -> Outcome:
        """Withdraw a pending question this task asked (409 Conflict once settled)."""
        result: Outcome = self._run(self._cancel(question_id, reason))
        return result

    def create_order(
        self,
        title: str,
        *,
        description: str | None = None,
        order_type: str = "spike",
        priority: str = "medium",
        labels: Iterable[str] = (),
        repository_url: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """File a spike or chore order on the task's directive; returns the order
        (`{id, title, …}`). `priority` is low, medium, high or critical; a retry with the
        same `idempotency_key` returns the first order."""
        result: dict[str, Any] = self._run(
            self._create_order(
                title,
                description=description,
                order_type=order_type,
                priority=priority,
                labels=labels,
                repository_url=repository_url,
                idempotency_key=idempotency_key,
            )
        )
        return result

    # Owner side ------------------------------------------------------------------------

    def pending(self) -> list[dict[str, Any]]:
        """The owner's oldest pending questions (at most the server's list limit)."""
        result: list[dict[str, Any]] = self._run(self._pending())
        return result

    def questions(self, **filters: Any) -> list[dict[str, Any]]:
        """The owner's questions from the history resource, filtered (e.g. status="answered");
        a server without it returns its pending list."""
        result: list[dict[str, Any]] = self._run(self._questions(filters))
        return result

    def answer(self, question_id: str, response: str | Iterable[str]) -> None:
        """Answer a pending question; a list of choices is sent as a multi-select answer."""
        self._run(self._answer(question_id, response))

    def decline(self, question_id: str, reason: str | None = None) -> None:
        """Refuse a pending question; the asker hears the reason."""
        self._run(self._decline(question_id, reason))

    def watch(self) -> Iterator[dict[str, Any]]:
        """The owner's live feed, one event (a dict) at a time; reconnects with backoff.
        Needs the `watch` extra (websockets)."""
        from makima_client.watch import watch_sync

        return watch_sync(self.base_url, self._token, self.retry)
