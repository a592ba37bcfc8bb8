"""AsyncMakimaClient: the asyncio client (httpx.AsyncClient), with MakimaClient's methods."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpx

from makima_client._base import ClientBase, __version__
from makima_client._flows import Call, Flow, Sleep
from makima_client.models import Outcome


class AsyncMakimaClient(ClientBase):
    """The asyncio twin of MakimaClient; use `async with`, or `await client.aclose()`.

    >>> async with AsyncMakimaClient(url, tool_key=key) as client:
    ...     outcome = await client.ask("Merge the branch?", choices=["yes", "no"])
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=self.timeout,
            headers={"User-Agent": f"makima-client/{__version__}"},
        )

    async def __aenter__(self) -> AsyncMakimaClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _run(self, flow: Flow) -> Any:
        step = next(flow)
        while True:
            reply: httpx.Response | Exception | None
            if isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
                reply = None
            else:
                reply = await self._do(step)
            try:
                step = flow.send(reply)
            except StopIteration as stop:
                return stop.value

    async def _do(self, call: Call) -> httpx.Response | Exception:
        timeout = (
            self.timeout
            if call.timeout is None
            else httpx.Timeout(
                self.timeout.connect,
                read=call.timeout,
                write=self.timeout.write,
                pool=self.timeout.pool,
            )
        )
        try:
            return await self._http.request(
                call.method,
                call.path,
                json=call.json,
                params=call.params,
                headers=call.headers,
                timeout=timeout,
            )
        except httpx.TransportError as exc:
            return exc

    async def ask(
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
        """See MakimaClient.ask."""
        result: Outcome = await self._run(
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

    async def poll(self, question_id: str) -> Outcome:
        result: Outcome = await self._run(self._poll(question_id))
        return result

    async def wait(self, question_id: str, *, max_wait: float | None = None) -> Outcome:
        result: Outcome = await self._run(self._wait(question_id, max_wait))
        return result

    async def cancel(self, question_id: str, reason: str | None = None) -> Outcome:
        result: Outcome = await self._run(self._cancel(question_id, reason))
        return result

    async def create_order(
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
        result: dict[str, Any] = await self._run(
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

    async def pending(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._run(self._pending())
        return result

    async def questions(self, **filters: Any) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._run(self._questions(filters))
        return result

    async def answer(self, question_id: str, response: str | Iterable[str]) -> None:
        await self._run(self._answer(question_id, response))

    async def decline(self, question_id: str, reason: str | None = None) -> None:
        await self._run(self._decline(question_id, reason))

    def watch(self) -> AsyncIterator[dict[str, Any]]:
        """The owner's live feed as an async iterator; reconnects with backoff."""
        from makima_client.watch import watch_async

        return watch_async(self.base_url, self._token, self.retry)
