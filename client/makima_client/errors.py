"""The errors the client raises: each carries the server's code, message, HTTP status and
details (the server's error body is `{"code", "message"[, "details"]}`)."""

from __future__ import annotations

from typing import Any


class MakimaError(Exception):
    """Any failure the client reports: a refusal by the server, or no server to ask."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "ERROR",
        status: int | None = None,
        details: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.details = details
        # The whole error body (409 ALREADY_SETTLED carries the question's `status`).
        self.body: dict[str, Any] = body or {}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, status={self.status!r})"


class AuthError(MakimaError):
    """401 or 403: no credential, a wrong or rotated one, or not allowed here."""


class NotFound(MakimaError):
    """404: unknown, another owner's or task's, or expired (a poll of an expired question)."""


class Conflict(MakimaError):
    """409 (already answered or settled) or 422 (an Idempotency-Key reused with another
    body)."""


class ValidationError(MakimaError):
    """400, 413 or 415: a bad input; the server changed nothing. `details` maps each field
    to its messages."""


class RateLimited(MakimaError):
    """429 (throttled, or too many pending questions) still refused when the retries ran
    out; `retry_after` is the server's Retry-After in seconds, if it sent one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class Unavailable(MakimaError):
    """The server could not be reached (connection refused, reset, timed out) or answered
    502/503/504 until the retries ran out."""


_BY_STATUS: dict[int, type[MakimaError]] = {
    400: ValidationError,
    401: AuthError,
    403: AuthError,
    404: NotFound,
    409: Conflict,
    413: ValidationError,
    415: ValidationError,
    422: Conflict,
    429: RateLimited,
    502: Unavailable,
    503: Unavailable,
    504: Unavailable,
}


def error_from_body(status: int, body: Any, retry_after: float | None = None) -> MakimaError:
    """The exception for an error reply, from its status and parsed JSON body."""
    if not isinstance(body, dict):
        body = {}
    code = str(body.get("code") or f"HTTP_{status}")
    message = str(body.get("message") or f"HTTP {status}")
    details = body.get("details") if isinstance(body.get("details"), dict) else None
    cls = _BY_STATUS.get(status, MakimaError)
    if cls is RateLimited:
        return RateLimited(
            message,
            retry_after=retry_after,
            code=code,
            status=status,
            details=details,
            body=body,
        )
    return cls(message, code=code, status=status, details=details, body=body)
