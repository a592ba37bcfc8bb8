"""The owners' live question feed: the websocket at /ws/v1/mesh/questions/.

Server frames: one {"type": "snapshot", "questions": [...]} on connect, then the owner's
events as the services publish them after commit (question.asked / question.answered /
question.expired), plus replies to the client's frames: "pong", "answer.accepted" and
"error" {"code", "message", "questionId"}. Client frames: {"type": "ping"} and
{"type": "answer", "questionId", "response"}. README.md ("Live feed") is the full protocol.

The consumer joins the owner's group BEFORE it reads the snapshot, so a question asked in
between is in the snapshot or arrives as an event (possibly both: clients key questions by
questionId, so a repeat is harmless). It also joins its credential's group (the API token's,
or the browser session's): revoking the token or logging the session out closes it with 4401.
"""

import json
import logging
import time
import uuid
from collections import deque
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import connection

from makima_site.errors import ApplicationError
from mesh import events, selectors, services
from mesh.ws_auth import BEARER_SUBPROTOCOL, TOKEN_ID_SCOPE_KEY

logger = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401
CLOSE_RATE_LIMITED = 4429


class FrameError(Exception):
    """A client frame the server cannot act on; reported as an error frame."""

    def __init__(self, code: str, message: str, question_id: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.question_id = question_id


class SlidingWindowLimiter:
    """At most rate × window frames in any window-second span; the next one is refused.

    "More than 20 frames a second for 5 seconds" is more than 100 frames within 5 seconds:
    a steady 21 frames/s trips it after about 4.8 s, a burst of 100 is tolerated.
    """

    def __init__(self, *, per_second: float, window_seconds: float):
        self.window = window_seconds
        self.limit = max(1, round(per_second * window_seconds))
        self.stamps: deque[float] = deque(maxlen=self.limit)

    def allow(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if len(self.stamps) == self.limit and now - self.stamps[0] < self.window:
            return False
        self.stamps.append(now)
        return True


def _pending_payloads(owner) -> list[dict[str, Any]]:
    try:
        return [
            events.question_payload(question)
            for question in selectors.question_pending_list(owner=owner)
        ]
    finally:
        connection.close()


def _answer(owner, question_id: str, response: str):
    try:
        return services.question_answer(question_id=question_id, owner=owner, response=response)
    finally:
        connection.close()


def _error_frame(
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


class QuestionFeedConsumer(AsyncWebsocketConsumer):
    """One owner's socket: snapshot, live events, answers and pings."""

    owner = None
    group: str | None = None
    credential_group: str | None = None
    closing = False

    async def connect(self):
        offered = self.scope.get("subprotocols") or []
        subprotocol = BEARER_SUBPROTOCOL if BEARER_SUBPROTOCOL in offered else None
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            # Channels can only send a custom close code on an accepted socket; nothing is
            # sent between the accept and the close.
            self.closing = True
            await self.accept(subprotocol)
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        self.owner = user
        self.limiter = SlidingWindowLimiter(
            per_second=settings.MESH_WS_RATE_PER_SECOND,
            window_seconds=settings.MESH_WS_RATE_WINDOW_SECONDS,
        )
        self.group = events.owner_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        self.credential_group = self._credential_group()
        if self.credential_group is not None:
            await self.channel_layer.group_add(self.credential_group, self.channel_name)
        await self.accept(subprotocol)
        questions = await database_sync_to_async(_pending_payloads)(user)
        await self._send_frame({"type": "snapshot", "questions": questions})

    def _credential_group(self) -> str | None:
        """The group that closes this socket when its credential ends: the API token's, or
        the browser session's."""
        token_id = self.scope.get(TOKEN_ID_SCOPE_KEY)
        if token_id is not None:
            return events.token_group(token_id)
        session = self.scope.get("session")
        session_key = getattr(session, "session_key", None) if session is not None else None
        return events.session_group(session_key) if session_key else None

    async def disconnect(self, code):
        for attribute in ("group", "credential_group"):
            group = getattr(self, attribute)
            if group is not None:
                await self.channel_layer.group_discard(group, self.channel_name)
                setattr(self, attribute, None)

    async def credential_revoked(self, message):
        """The token was revoked or the session logged out: close with 4401 at once."""
        if not self.closing:
            self.closing = True
            await self.close(code=CLOSE_UNAUTHORIZED)

    async def owner_event(self, message):
        """A frame the services published to this owner's group, relayed as is."""
        if not self.closing:
            await self._send_frame(message["event"])

    async def receive(self, text_data=None, bytes_data=None):
        if self.closing:
            return
        if not self.limiter.allow():
            self.closing = True
            await self._send_frame(
                _error_frame(
                    "RATE_LIMITED",
                    f"More than {settings.MESH_WS_RATE_PER_SECOND:g} frames a second; "
                    "reconnect and send less often.",
                )
            )
            await self.close(code=CLOSE_RATE_LIMITED)
            return
        try:
            frame = self._parse(text_data, bytes_data)
            kind = frame.get("type")
            if kind == "ping":
                await self._send_frame({"type": "pong"})
            elif kind == "answer":
                await self._answer(frame)
            else:
                raise FrameError(
                    "UNKNOWN_TYPE",
                    f'Unknown frame type {str(kind)[:40]!r}; send "answer" or "ping".',
                )
        except FrameError as exc:
            await self._send_frame(_error_frame(exc.code, exc.message, exc.question_id))

    def _parse(self, text_data: str | None, bytes_data: bytes | None) -> dict[str, Any]:
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

    async def _answer(self, frame: dict[str, Any]) -> None:
        raw_id = frame.get("questionId")
        question_id = _uuid_or_none(raw_id)
        if question_id is None:
            echoed = raw_id if isinstance(raw_id, str) and len(raw_id) <= 100 else None
            raise FrameError(
                "VALIDATION_ERROR", "questionId must be the UUID of a pending question.", echoed
            )
        response = frame.get("response")
        if not isinstance(response, str):
            raise FrameError("VALIDATION_ERROR", "response must be a string.", question_id)
        try:
            question = await database_sync_to_async(_answer)(self.owner, question_id, response)
        except ApplicationError as exc:
            await self._send_frame(_error_frame(exc.code, exc.message, question_id, exc.details))
            return
        except Exception:
            logger.exception("Answering question %s over the feed failed", question_id)
            await self._send_frame(
                _error_frame(
                    "INTERNAL_ERROR", "The answer could not be saved; try again.", question_id
                )
            )
            return
        await self._send_frame(
            {
                "type": "answer.accepted",
                "questionId": question_id,
                "answeredAt": question.answered_at.isoformat().replace("+00:00", "Z"),
            }
        )

    async def _send_frame(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(frame, separators=(",", ":")))


def _too_large(text_data: str | None, bytes_data: bytes | None, limit: int) -> bool:
    """Whether the frame's payload is over limit bytes, encoding text only when needed."""
    if text_data is None:
        return len(bytes_data or b"") > limit
    if len(text_data) > limit:
        return True
    if len(text_data) * 4 <= limit:
        return False
    return len(text_data.encode("utf-8", "surrogatepass")) > limit


def _uuid_or_none(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None
