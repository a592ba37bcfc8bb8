"""The Idempotency-Key header, shared by every endpoint that honours it.

A caller sends a key to make a retry safe: the same caller sending the same key again gets
the first result back. A key names one request, so it is stored with the fingerprint of the
request's validated body, and the same key with a different body is refused
(IdempotencyKeyReused) instead of silently answering with what the first body produced.
"""

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from rest_framework import status

from makima_site.errors import ApplicationError

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_IDEMPOTENCY_KEY_LENGTH = 255


class IdempotencyKeyReused(ApplicationError):
    """The key was already used with a different body: nothing was done."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = "IDEMPOTENCY_KEY_REUSED"


def idempotency_key(raw: str | None) -> str | None:
    """The key in a raw header value, None without the header; 400 VALIDATION_ERROR unless
    it is 1..255 printable ASCII characters (surrounding whitespace ignored)."""
    if raw is None:
        return None
    key = raw.strip()
    problem = None
    if not key:
        problem = "must not be blank"
    elif len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        problem = f"must be at most {MAX_IDEMPOTENCY_KEY_LENGTH} characters"
    elif not key.isascii() or not key.isprintable():
        problem = "must be printable ASCII"
    if problem is None:
        return key
    message = f"The {IDEMPOTENCY_HEADER} header {problem} (a UUID is a good key)."
    raise ApplicationError(
        message, code="VALIDATION_ERROR", details={IDEMPOTENCY_HEADER: [message]}
    )


def request_fingerprint(data: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of a request's validated data.

    Pass the data after validation and defaults, so that two spellings of one request (a
    default left out or sent) have one fingerprint. Keys are sorted; UUIDs, dates and the
    like are rendered with str().
    """
    canonical = json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
