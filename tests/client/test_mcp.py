"""`makima mcp` driven by the official MCP Python SDK's client over stdio, against a real
daphne: the tools, an answered ask_human, pending → await_answer, progress notifications
(with a 0.1 s interval), file_order, and tool errors instead of crashes."""

import asyncio
import os
import sys
import threading
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client

from orders.models import Order
from tests.client.conftest import MAKIMA

pytestmark = pytest.mark.django_db(transaction=True)
TOOLS = {"ask_human", "await_answer", "cancel_question", "file_order"}


def with_session(mesh, body: Callable[[ClientSession], Awaitable[Any]], **env: str) -> Any:
    parameters = StdioServerParameters(
        command=MAKIMA,
        args=["mcp"],
        env={
            **os.environ,
            "MAKIMA_URL": mesh.url,
            "MAKIMA_TOOL_KEY": mesh.tool_key,
            "MAKIMA_MCP_PROGRESS_SECONDS": "0.1",
            **env,
        },
    )

    async def run() -> Any:
        async with AsyncExitStack() as stack:
            read, write = await stack.enter_async_context(stdio_client(parameters, sys.stderr))
            session = await stack.enter_async_context(ClientSession(read, write))
            await session.initialize()
            return await body(session)

    return asyncio.run(run())


def test_lists_the_tools_and_ask_human_returns_the_answer_with_progress(mesh):
    progress: list[tuple[float, float | None, str | None]] = []
    progressed = threading.Event()  # the answer comes only once a progress notification did

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))
        progressed.set()

    async def body(session: ClientSession) -> Any:
        listed = await session.list_tools()
        assert {tool.name for tool in listed.tools} == TOOLS
        ask = next(tool for tool in listed.tools if tool.name == "ask_human")
        assert "await_answer" in (ask.description or "")
        assert set(ask.output_schema["properties"]) == {
            "status",
            "questionId",
            "response",
            "responses",
            "reason",
        }
        mesh.settle_later("answer", {"response": "yes"}, after=progressed)
        return await session.call_tool(
            "ask_human",
            {"question": "Deploy?", "choices": ["yes", "no"], "wait_seconds": 20},
            progress_callback=on_progress,
        )

    result = with_session(mesh, body)
    assert not result.is_error
    assert result.structured_content["status"] == "answered"
    assert result.structured_content["response"] == "yes"
    assert result.structured_content["responses"] == ["yes"]
    assert "yes" in result.content[0].text
    assert progress, "no progress notification arrived while waiting"
    assert progress[0][1] == 20 and "waiting for the human" in (progress[0][2] or "")


def test_pending_then_await_answer(mesh):
    async def body(session: ClientSession) -> tuple[Any, Any]:
        pending = await session.call_tool("ask_human", {"question": "Later?", "wait_seconds": 1})
        question_id = pending.structured_content["questionId"]
        reply = mesh.owner_post(f"/api/v1/mesh/questions/{question_id}/answer", {"response": "ok"})
        assert reply.status_code == 200
        answered = await session.call_tool(
            "await_answer", {"question_id": question_id, "wait_seconds": 5}
        )
        return pending, answered

    pending, answered = with_session(mesh, body)
    assert pending.structured_content["status"] == "pending"
    assert "await_answer" in pending.content[0].text
    assert pending.structured_content["questionId"] in pending.content[0].text
    assert answered.structured_content == {
        "status": "answered",
        "questionId": pending.structured_content["questionId"],
        "response": "ok",
        "responses": ["ok"],
        "reason": None,
    }


def test_file_order_and_cancel_question(mesh):
    async def body(session: ClientSession) -> tuple[Any, Any, Any]:
        order = await session.call_tool(
            "file_order",
            {"title": "Flaky test", "order_type": "chore", "priority": "high", "labels": ["ci"]},
        )
        pending = await session.call_tool("ask_human", {"question": "Needed?", "wait_seconds": 1})
        question_id = pending.structured_content["questionId"]
        cancelled = await session.call_tool(
            "cancel_question", {"question_id": question_id, "reason": "found it"}
        )
        again = await session.call_tool("cancel_question", {"question_id": question_id})
        return order, cancelled, again

    order, cancelled, again = with_session(mesh, body)
    stored = Order.objects.get()
    assert not order.is_error
    assert order.structured_content["id"] == str(stored.id)
    assert (stored.order_type, stored.priority, stored.labels) == ("chore", "high", ["ci"])
    assert cancelled.structured_content["status"] == "cancelled"
    assert again.is_error
    assert again.content[0].text.startswith("ALREADY_SETTLED: ")


def test_bad_arguments_and_server_errors_are_tool_errors_not_crashes(mesh):
    async def body(session: ClientSession) -> list[Any]:
        results = [
            await session.call_tool("ask_human", {"question": "Hi?", "wait_seconds": 9999}),
            await session.call_tool("ask_human", {"wait_seconds": 5}),
            await session.call_tool("await_answer", {"question_id": "not-a-uuid"}),
            await session.call_tool("file_order", {"title": "x", "order_type": "epic"}),
        ]
        # Still serving after all that.
        assert {tool.name for tool in (await session.list_tools()).tools} == TOOLS
        return results

    results = with_session(mesh, body)
    assert all(result.is_error for result in results)
    assert results[2].content[0].text.startswith("VALIDATION_ERROR: ")

    async def unauthorized(session: ClientSession) -> Any:
        return await session.call_tool("ask_human", {"question": "Hi?", "wait_seconds": 1})

    refused = with_session(mesh, unauthorized, MAKIMA_TOOL_KEY="mtk_wrong")
    assert refused.is_error
    assert refused.content[0].text.startswith("UNAUTHORIZED: ")
