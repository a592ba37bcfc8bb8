"""makima_site/idempotency.py: the header's rules, the body fingerprint, the 422 it renders."""

import hashlib
import uuid
from datetime import UTC, datetime

import pytest
from rest_framework import status

from makima_site.errors import ApplicationError, api_exception_handler
from makima_site.idempotency import (
    IDEMPOTENCY_HEADER,
    IdempotencyKeyReused,
    idempotency_key,
    request_fingerprint,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ("retry-1", "retry-1"),
        ("  padded  ", "padded"),
        ("k" * 255, "k" * 255),
        (str(uuid.UUID(int=1)), str(uuid.UUID(int=1))),
    ],
)
def test_valid_keys(raw, expected):
    """No header is no key; a valid key comes back without surrounding whitespace."""
    assert idempotency_key(raw) == expected


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("", "must not be blank"),
        ("   ", "must not be blank"),
        ("k" * 256, "must be at most 255 characters"),
        ("ключ", "must be printable ASCII"),
        ("tab\there", "must be printable ASCII"),
        ("bell\x07", "must be printable ASCII"),
    ],
)
def test_invalid_keys_are_validation_errors(raw, problem):
    """A blank, overlong, non-ASCII or control-character key is 400 VALIDATION_ERROR, with
    details keyed by the header's name."""
    with pytest.raises(ApplicationError) as caught:
        idempotency_key(raw)
    error = caught.value
    message = f"The Idempotency-Key header {problem} (a UUID is a good key)."
    assert (error.status_code, error.code, error.message) == (400, "VALIDATION_ERROR", message)
    assert error.details == {IDEMPOTENCY_HEADER: [message]}


BODY = {"title": "t", "labels": ["a", "b"], "priority": "medium", "description": None}


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (BODY, dict(BODY)),
        (BODY, dict(reversed(list(BODY.items())))),
        ({"id": uuid.UUID(int=7)}, {"id": uuid.UUID(int=7)}),
        ({"at": datetime(2026, 1, 1, tzinfo=UTC)}, {"at": datetime(2026, 1, 1, tzinfo=UTC)}),
        ({"nested": {"x": 1, "y": 2}}, {"nested": {"y": 2, "x": 1}}),
    ],
)
def test_equal_data_has_one_fingerprint(a, b):
    """Equal data fingerprints alike whatever the key order, UUIDs and dates included."""
    assert request_fingerprint(a) == request_fingerprint(b)


@pytest.mark.parametrize(
    "other",
    [
        {**BODY, "title": "u"},
        {**BODY, "labels": ["b", "a"]},
        {**BODY, "labels": ["a"]},
        {**BODY, "description": ""},
        {**BODY, "priority": "high"},
        {key: value for key, value in BODY.items() if key != "description"},
        {**BODY, "extra": None},
    ],
)
def test_different_data_has_another_fingerprint(other):
    """Any change of a value, of the labels' order, or of the keys changes the fingerprint."""
    assert request_fingerprint(other) != request_fingerprint(BODY)


def test_fingerprint_is_sha256_hex_of_canonical_json():
    """The fingerprint is the SHA-256 hex of sorted, compact, UTF-8 JSON: one across processes."""
    fingerprint = request_fingerprint({"b": "é", "a": 1})
    assert fingerprint == hashlib.sha256('{"a":1,"b":"é"}'.encode()).hexdigest()
    assert len(fingerprint) == 64


def test_key_reused_renders_as_422_in_the_error_shape():
    """The DRF exception handler renders IdempotencyKeyReused as 422 {"code", "message"}."""
    response = api_exception_handler(IdempotencyKeyReused("Send a new key."), {})
    assert response is not None
    assert response.status_code == status.HTTP_422_UNPROCESSABLE_ENTITY
    assert response.data == {"code": "IDEMPOTENCY_KEY_REUSED", "message": "Send a new key."}
