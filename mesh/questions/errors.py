"""The errors the question services raise beyond makima_site.errors' own."""

from typing import Any

from makima_site.errors import ApplicationError, Conflict


class AlreadySettled(Conflict):
    """409 ALREADY_SETTLED; the body also names the status the question settled in."""

    code = "ALREADY_SETTLED"

    def __init__(self, status: str):
        super().__init__(f"This question is already {status}; it can no longer change.")
        self.status = status

    def body(self) -> dict[str, Any]:
        return {**super().body(), "status": self.status}


class TooManyPending(ApplicationError):
    status_code = 429
    code = "TOO_MANY_PENDING"
