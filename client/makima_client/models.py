"""The values the client returns: the outcome of a question, and the request/credential
helpers both clients share."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

# The five statuses of a question (pending until exactly one of the other four).
PENDING = "pending"
ANSWERED = "answered"
DECLINED = "declined"
CANCELLED = "cancelled"
EXPIRED = "expired"
STATUSES = (PENDING, ANSWERED, DECLINED, CANCELLED, EXPIRED)


@dataclass(frozen=True)
class Outcome:
    """Where a question stands.

    `status` is one of pending, answered, declined, cancelled, expired. `response` is the
    owner's answer as the server stores it; `responses` is the chosen choices as a list
    (a multi-select answer is a JSON array; any other answer is a list of one). `reason`
    says why a question was declined, cancelled or expired. `question_id` is None only when
    `max_wait` passed before the server even replied to the ask; ask again with the same
    `idempotency_key` to wait on the same question.
    """

    question_id: str | None
    status: str
    response: str | None = None
    responses: list[str] = field(default_factory=list)
    reason: str | None = None
    idempotency_key: str | None = None

    @property
    def settled(self) -> bool:
        return self.status != PENDING

    def to_dict(self) -> dict[str, Any]:
        """The outcome in the API's camelCase (the CLI's --json and the MCP tools' result)."""
        return {
            "status": self.status,
            "questionId": self.question_id,
            "response": self.response,
            "responses": list(self.responses),
            "reason": self.reason,
        }


def split_responses(response: str | None, multi_select: bool | None) -> list[str]:
    """The chosen choices: a multi-select answer is a JSON array of strings in a string."""
    if response is None:
        return []
    if multi_select is not False and response.startswith("["):
        try:
            parsed = json.loads(response)
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
            return parsed
    return [response]


def outcome_from_reply(
    body: Any, *, multi_select: bool | None = None, idempotency_key: str | None = None
) -> Outcome:
    """An Outcome from an ask or poll reply (`{questionId, response, timedOut, stillPending,
    status, reason}`); replies of servers older than `status` are read from the flags."""
    if not isinstance(body, dict):
        body = {}
    response = body.get("response")
    status = body.get("status")
    if status not in STATUSES:
        if body.get("timedOut"):
            status = EXPIRED
        elif response is not None:
            status = ANSWERED
        else:
            status = PENDING
    question_id = body.get("questionId")
    return Outcome(
        question_id=str(question_id) if question_id is not None else None,
        status=str(status),
        response=response if isinstance(response, str) else None,
        responses=split_responses(response if isinstance(response, str) else None, multi_select),
        reason=body.get("reason") if isinstance(body.get("reason"), str) else None,
        idempotency_key=idempotency_key,
    )


def new_idempotency_key() -> str:
    """A fresh Idempotency-Key (printable ASCII, well under the 255-character limit)."""
    return f"makima-{uuid.uuid4().hex}"


class Secret:
    """A credential that never shows itself in a repr, a log line or a traceback's locals."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


def as_secret(value: str | None) -> Secret | None:
    return Secret(value) if value else None
