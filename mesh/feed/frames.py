"""The feed's frames: parsing what a client sends, and the error frame the server replies."""

import json
import uuid
from typing import Any

from django.conf import settings
from rest_framework import serializers

from makima_site.errors import first_message, validation_details


class FrameError(Exception):
    """A client frame the server cannot act on; reported as an error frame."""

    def __init__(
        self,
        code: str,
        message: str,
        question_id: str | None = None,
        details: dict[str, list[str]] | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.question_id = question_id
        self.details = details


def validated(
    serializer_class: type[serializers.Serializer], data: dict[str, Any], question_id: str
) -> dict[str, Any]:
    """A frame's fields through the serializer REST uses for the same body: its validated
    data, or a VALIDATION_ERROR FrameError with REST's message and details."""
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        details = validation_details(serializer.errors)
        raise FrameError("VALIDATION_ERROR", first_message(details), question_id, details)
    return dict(serializer.validated_data)


def error_frame(
    code: str, message: str, question_id: str | None = None, details: dict | None = None
) -> dict[str, Any]:
    frame: dict[str, Any] = {
        "type": "error",
        "code": code,
        "message": message,
        "questionId": question_id,
    }
    if details:
        frame["details"] = details
    return frame


def parse_frame(text_data: str | None, bytes_data: bytes | None) -> dict[str, Any]:
    """The client frame as a JSON object with a "type"; FrameError otherwise."""
    limit = settings.MESH_WS_MAX_FRAME_BYTES
    if _too_large(text_data, bytes_data, limit):
        raise FrameError(
            "FRAME_TOO_LARGE", f"Frames must be at most {limit} bytes; send a shorter one."
        )
    if text_data is None:
        raise FrameError("MALFORMED_FRAME", "Send JSON objects as text frames, not binary.")
    try:
        frame = json.loads(text_data)
    except (ValueError, RecursionError):
        # RecursionError: nesting deeper than the parser's stack ("[[[[…").
        raise FrameError("MALFORMED_FRAME", "The frame is not valid JSON.") from None
    if not isinstance(frame, dict):
        raise FrameError("MALFORMED_FRAME", 'A frame must be a JSON object with a "type".')
    if "type" not in frame:
        raise FrameError("MALFORMED_FRAME", 'The frame has no "type"; send "answer" or "ping".')
    return frame


def _too_large(text_data: str | None, bytes_data: bytes | None, limit: int) -> bool:
    """Whether the frame's payload is over limit bytes, encoding text only when needed."""
    if text_data is None:
        return len(bytes_data or b"") > limit
    if len(text_data) > limit:
        return True
    if len(text_data) * 4 <= limit:
        return False
    return len(text_data.encode("utf-8", "surrogatepass")) > limit


def uuid_or_none(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None
