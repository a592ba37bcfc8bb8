"""`makima mcp`: the client's tools for MCP agents (Claude Code, Codex, Cursor, …), served
over stdio with the official MCP SDK (the `mcp` extra).

Tools: ask_human, await_answer, cancel_question, file_order. A wait sends a progress
notification every `progress_interval` seconds (10 by default; MCP clients such as the
TypeScript SDK cancel a call after 60 s without one) when the caller gave a progress token.
Every failure comes back as a tool error with the server's code and message; a bad argument
is refused by the SDK's validation, never a crash.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable
from dataclasses import replace
from typing import Annotated, Any, Literal, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, TextContent
from pydantic import Field
from typing_extensions import TypedDict

from makima_client.aio import AsyncMakimaClient
from makima_client.errors import MakimaError
from makima_client.models import Outcome, split_responses

DEFAULT_WAIT_SECONDS = 50
MAX_WAIT_SECONDS = 600
T = TypeVar("T")


class OutcomeContent(TypedDict):
    """The structured result of ask_human, await_answer and cancel_question."""

    status: str
    questionId: str | None
    response: str | None
    responses: list[str]
    reason: str | None


class OrderContent(TypedDict, total=False):
    id: str
    title: str
    description: str | None
    priority: str
    status: str
    orderType: str
    directiveId: str | None
    labels: list[str]
    repositoryUrl: str | None
    createdAt: str


WaitSeconds = Annotated[
    int,
    Field(
        ge=1,
        le=MAX_WAIT_SECONDS,
        description=f"How long to wait for the answer, 1–{MAX_WAIT_SECONDS} s.",
    ),
]


def _text(outcome: Outcome) -> str:
    if outcome.status == "answered":
        if len(outcome.responses) > 1:
            return "The human chose: " + ", ".join(outcome.responses)
        return f"The human answered: {outcome.response}"
    if outcome.status == "pending":
        return (
            f"No answer yet; the question is still pending (questionId {outcome.question_id}). "
            "Call await_answer with this questionId to keep waiting, or cancel_question if "
            "you no longer need it."
        )
    reason = f" Reason: {outcome.reason}" if outcome.reason else ""
    return f"The question was {outcome.status}; there will be no answer.{reason}"


def _outcome_result(outcome: Outcome) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=_text(outcome))],
        structured_content=dict(outcome.to_dict()),
    )


def _bad_id(question_id: str) -> CallToolResult | None:
    """A tool error for an id that cannot be a question's (ids are UUIDs), else None."""
    try:
        uuid.UUID(question_id)
    except ValueError:
        return _error_result(
            MakimaError(
                "question_id must be the questionId ask_human returned (a UUID)",
                code="VALIDATION_ERROR",
            )
        )
    return None


def _error_result(error: MakimaError) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=f"{error.code}: {error.message}")], is_error=True
    )


def build_server(
    base_url: str, tool_key: str | None, *, progress_interval: float = 10.0
) -> MCPServer[Any]:
    """The MCP server with the four tools, talking to `base_url` with the task's key."""
    server: MCPServer[Any] = MCPServer(
        "makima",
        instructions=(
            "Ask your human owner a question and wait for the answer (ask_human, then "
            "await_answer while it is pending), withdraw a question (cancel_question), or "
            "file a follow-up order (file_order)."
        ),
        log_level="WARNING",
    )

    def client() -> AsyncMakimaClient:
        return AsyncMakimaClient(base_url, tool_key=tool_key)

    async def waiting(ctx: Context[Any, Any], seconds: int, work: Awaitable[T]) -> T:
        """Await `work`, reporting progress every `progress_interval` seconds meanwhile."""
        task = asyncio.ensure_future(work)
        started = time.monotonic()
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=progress_interval)
                if done:
                    return task.result()
                elapsed = time.monotonic() - started
                await ctx.report_progress(
                    min(elapsed, seconds), seconds, f"waiting for the human ({elapsed:.0f} s)"
                )
        finally:
            task.cancel()

    @server.tool(
        description=(
            "Ask your human owner a question and wait for the answer. Use it when you need "
            "a decision, an approval or information only the human has; offer `choices` "
            "when the answer is one of a few options (`multi_select` lets them pick several). "
            "Waits up to `wait_seconds` (default 50). Returns {status, questionId, response, "
            "responses, reason}: status 'answered' with the response; 'declined', "
            "'cancelled' or 'expired' with a reason (do not ask the same again at once); "
            "'pending' when no answer came in time, then call await_answer with the "
            "questionId."
        )
    )
    async def ask_human(
        question: Annotated[str, Field(min_length=1, description="The question, plainly.")],
        ctx: Context[Any, Any],
        choices: Annotated[
            list[str] | None, Field(description="Options the human can pick from.")
        ] = None,
        context: Annotated[
            str | None, Field(description="Background the human needs to answer.")
        ] = None,
        multi_select: bool = False,
        question_type: Literal["general", "phase_confirmation", "contract_complete"] = "general",
        wait_seconds: WaitSeconds = DEFAULT_WAIT_SECONDS,
    ) -> Annotated[CallToolResult, OutcomeContent]:
        try:
            async with client() as makima:
                asked = await makima.ask(
                    question,
                    choices=choices or (),
                    context=context,
                    multi_select=multi_select,
                    question_type=question_type,
                    non_blocking=True,
                )
                if asked.question_id is None or asked.settled:
                    return _outcome_result(asked)
                outcome = await waiting(
                    ctx, wait_seconds, makima.wait(asked.question_id, max_wait=wait_seconds)
                )
                # The poll does not say whether the question was multi-select; the ask does.
                outcome = replace(
                    outcome, responses=split_responses(outcome.response, multi_select)
                )
        except MakimaError as error:
            return _error_result(error)
        return _outcome_result(outcome)

    @server.tool(
        description=(
            "Keep waiting for the answer to a question asked with ask_human that was still "
            "pending. Waits up to `wait_seconds` (default 50) and returns the same "
            "{status, questionId, response, responses, reason}; call it again while the "
            "status is 'pending'."
        )
    )
    async def await_answer(
        question_id: Annotated[str, Field(min_length=1, description="ask_human's questionId.")],
        ctx: Context[Any, Any],
        wait_seconds: WaitSeconds = DEFAULT_WAIT_SECONDS,
    ) -> Annotated[CallToolResult, OutcomeContent]:
        if (refused := _bad_id(question_id)) is not None:
            return refused
        try:
            async with client() as makima:
                outcome = await waiting(
                    ctx, wait_seconds, makima.wait(question_id, max_wait=wait_seconds)
                )
        except MakimaError as error:
            return _error_result(error)
        return _outcome_result(outcome)

    @server.tool(
        description=(
            "Withdraw a pending question you asked (you found the answer yourself, or it no "
            "longer matters). Returns {status: 'cancelled', questionId}. A question that "
            "was already answered, declined or expired is an ALREADY_SETTLED error: read "
            "its answer with await_answer instead."
        )
    )
    async def cancel_question(
        question_id: Annotated[str, Field(min_length=1)],
        reason: Annotated[str | None, Field(description="Why, for the human.")] = None,
    ) -> Annotated[CallToolResult, OutcomeContent]:
        if (refused := _bad_id(question_id)) is not None:
            return refused
        try:
            async with client() as makima:
                outcome = await makima.cancel(question_id, reason)
        except MakimaError as error:
            return _error_result(error)
        return _outcome_result(outcome)

    @server.tool(
        description=(
            "File a follow-up order for your human on your directive: a 'spike' "
            "(investigate) or a 'chore' (routine work) you noticed but should not do now. "
            "Returns the order {id, title, status, …}; tell the human its id if useful."
        )
    )
    async def file_order(
        title: Annotated[str, Field(min_length=1, max_length=200)],
        description: str | None = None,
        order_type: Literal["spike", "chore"] = "spike",
        priority: Literal["low", "medium", "high", "critical"] = "medium",
        labels: list[str] | None = None,
    ) -> Annotated[CallToolResult, OrderContent]:
        try:
            async with client() as makima:
                order = await makima.create_order(
                    title,
                    description=description,
                    order_type=order_type,
                    priority=priority,
                    labels=labels or (),
                )
        except MakimaError as error:
            return _error_result(error)
        text = f"Filed {order.get('orderType')} order {order.get('id')}: {order.get('title')}"
        return CallToolResult(
            content=[TextContent(type="text", text=text)], structured_content=order
        )

    return server


def serve(base_url: str, tool_key: str | None, *, progress_interval: float = 10.0) -> None:
    """Serve the tools over stdio until the client closes the connection."""
    build_server(base_url, tool_key, progress_interval=progress_interval).run("stdio")
