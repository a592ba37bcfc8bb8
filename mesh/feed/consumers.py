"""The owners' live question feed: the websocket at /ws/v1/mesh/questions/.

Server frames: one {"type": "snapshot", "questions": [...], "total": N} on connect (the
oldest pending questions that fit: at most 100 and 256 KiB), then the owner's events as the
services publish them after commit (question.asked / question.answered / question.declined
/ question.cancelled / question.expired), plus replies to the client's frames: "pong",
"answer.accepted", "decline.accepted" and "error" {"code", "message", "questionId"}. Client
frames: {"type": "ping"}, {"type": "answer", "questionId", "response"} and
{"type": "decline", "questionId", "reason"}. Frames are UTF-8 JSON without ASCII escaping.
docs/api.md ("Live feed") is the full protocol.

The consumer joins the owner's group BEFORE it reads the snapshot, so a question asked in
between is in the snapshot or arrives as an event (possibly both: clients key questions by
questionId, so a repeat is harmless). It also joins its credential's group (the API token's,
or the browser session's): revoking the token or logging the session out closes it with 4401;
so does deactivating the owner (sent to the owner's group) or, for session sockets, changing
the owner's password.
"""

import json
import logging
from collections.abc import Awaitable
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from makima_site.channel_layer import LAYER_UNAVAILABLE_ERRORS
from makima_site.db import db_step
from makima_site.errors import ApplicationError
from makima_site.formats import timestamp
from makima_site.observability.metrics import FEED_SOCKETS
from mesh.credentials.events import SESSIONS_ONLY_KEY
from mesh.credentials.websocket import BEARER_SUBPROTOCOL, TOKEN_ID_SCOPE_KEY
from mesh.events.groups import owner_group, session_group, token_group
from mesh.feed.frames import FrameError, error_frame, parse_frame, uuid_or_none, validated
from mesh.feed.limiter import SlidingWindowLimiter
from mesh.models import Question
from mesh.questions import selectors, services
from mesh.questions.events import pending_question_item
from mesh.questions.serializers import AnswerQuestionSerializer, ReasonSerializer

logger = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401
CLOSE_RATE_LIMITED = 4429
CLOSE_TRY_AGAIN_LATER = 1013  # RFC 6455: the channel layer (Redis) is unavailable


# No frame the server sends is larger than this (daphne refuses frames over 1 MiB, and
# a page should not stall on a huge one); the snapshot stops adding questions before it.
MAX_SERVER_FRAME_BYTES = 256 * 1024
SNAPSHOT_MAX_QUESTIONS = 100
# Room for the snapshot's envelope ({"type":"snapshot","questions":[],"total":N}).
_SNAPSHOT_ENVELOPE_BYTES = 64


def encode(frame: dict[str, Any]) -> str:
    """A frame as sent: compact UTF-8 JSON, characters as themselves (no ASCII escapes)."""
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


@db_step
def pending_items(owner: Any) -> dict[str, Any]:
    """The snapshot frame: the oldest pending questions that fit (at most 100, at most
    MAX_SERVER_FRAME_BYTES in all) and the total pending."""
    oldest, total = selectors.question_list_pending_rows(owner=owner, limit=SNAPSHOT_MAX_QUESTIONS)
    items: list[dict[str, Any]] = []
    size = _SNAPSHOT_ENVELOPE_BYTES + len(str(total))
    for row in oldest:
        item = pending_question_item(row)
        size += len(encode(item).encode("utf-8")) + 1
        if size > MAX_SERVER_FRAME_BYTES:
            break
        items.append(item)
    return {"type": "snapshot", "questions": items, "total": total}


@db_step
def _answer(owner: Any, question_id: str, response: str) -> Question:
    return services.question_answer(question_id=question_id, owner=owner, response=response)


@db_step
def _decline(owner: Any, question_id: str, reason: str | None) -> Question:
    return services.question_decline(question_id=question_id, owner=owner, reason=reason)


class QuestionFeedConsumer(AsyncWebsocketConsumer):
    """One owner's socket: snapshot, live events, answers and pings."""

    owner = None
    group: str | None = None
    credential_group: str | None = None
    closing = False
    accepted = False
    closed = False

    async def __call__(self, scope, receive, send):
        # The channel layer's receive loop runs beside the socket's from the start; with
        # Redis unreachable it fails, and Channels would end the socket with 1011 (an
        # internal error). Close with 1013, try again later, instead.
        try:
            await super().__call__(scope, receive, send)
        except LAYER_UNAVAILABLE_ERRORS as exc:
            logger.warning("Feed socket closed, channel layer unavailable: %r", exc)
            if not self.closed:
                if not self.accepted:
                    offered = scope.get("subprotocols") or []
                    subprotocol = BEARER_SUBPROTOCOL if BEARER_SUBPROTOCOL in offered else None
                    await send({"type": "websocket.accept", "subprotocol": subprotocol})
                await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER})

    async def accept(self, subprotocol=None, headers=None):
        self.accepted = True
        await super().accept(subprotocol, headers)

    async def close(self, code=None, reason=None):
        self.closed = True
        await super().close(code, reason)

    counted = False  # in makima_feed_sockets

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
        # Accepted first: a burst of handshakes then waits on nothing but authentication
        # (daphne drops a handshake not accepted within its websocket_connect_timeout, 5 s).
        # The groups are joined before the snapshot is read, so nothing is missed.
        await self.accept(subprotocol)
        try:
            self.group = owner_group(user.pk)
            await self.channel_layer.group_add(self.group, self.channel_name)
            self.credential_group = self._credential_group()
            if self.credential_group is not None:
                await self.channel_layer.group_add(self.credential_group, self.channel_name)
        except LAYER_UNAVAILABLE_ERRORS as exc:
            # Redis is unreachable: without its groups the socket would hear nothing.
            # "Try again later" instead of the 500 a failed handshake was.
            logger.warning("Feed socket closed, channel layer unavailable: %r", exc)
            self.closing = True
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
            return
        FEED_SOCKETS.inc()
        self.counted = True
        await self._send_frame(await pending_items(user))

    def _credential_group(self) -> str | None:
        """The group that closes this socket when its credential ends: the API token's, or
        the browser session's."""
        token_id = self.scope.get(TOKEN_ID_SCOPE_KEY)
        if token_id is not None:
            return token_group(token_id)
        session = self.scope.get("session")
        session_key = getattr(session, "session_key", None) if session is not None else None
        return session_group(session_key) if session_key else None

    async def disconnect(self, code):
        if self.counted:
            FEED_SOCKETS.dec()
            self.counted = False
        for attribute in ("group", "credential_group"):
            group = getattr(self, attribute)
            if group is not None:
                setattr(self, attribute, None)
                try:
                    await self.channel_layer.group_discard(group, self.channel_name)
                except LAYER_UNAVAILABLE_ERRORS as exc:  # the member expires with the group
                    logger.warning("Leaving %s failed, channel layer unavailable: %r", group, exc)

    async def credential_revoked(self, message):
        """The token was revoked, the session logged out, or the owner deactivated (all its
        sockets) or given a new password (its session sockets): close with 4401 at once."""
        if message.get(SESSIONS_ONLY_KEY) and self.scope.get(TOKEN_ID_SCOPE_KEY) is not None:
            return
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
                error_frame(
                    "RATE_LIMITED",
                    f"More than {settings.MESH_WS_RATE_PER_SECOND:g} frames a second; "
                    "reconnect and send less often.",
                )
            )
            await self.close(code=CLOSE_RATE_LIMITED)
            return
        try:
            frame = parse_frame(text_data, bytes_data)
            kind = frame.get("type")
            if kind == "ping":
                await self._send_frame({"type": "pong"})
            elif kind == "answer":
                await self._answer(frame)
            elif kind == "decline":
                await self._decline(frame)
            else:
                raise FrameError(
                    "UNKNOWN_TYPE",
                    f'Unknown frame type {str(kind)[:40]!r}; send "answer", "decline" or "ping".',
                )
        except FrameError as exc:
            await self._send_frame(error_frame(exc.code, exc.message, exc.question_id, exc.details))

    async def _answer(self, frame: dict[str, Any]) -> None:
        question_id = _frame_question_id(frame)
        # The frame's keys are REST's body's (single words: no camelCase to convert).
        response = validated(AnswerQuestionSerializer, frame, question_id)["response"]
        question = await self._settle(question_id, _answer(self.owner, question_id, response))
        if question is not None:
            await self._send_frame(
                {
                    "type": "answer.accepted",
                    "questionId": question_id,
                    "answeredAt": timestamp(question.answered_at),
                }
            )

    async def _decline(self, frame: dict[str, Any]) -> None:
        question_id = _frame_question_id(frame)
        reason = validated(ReasonSerializer, frame, question_id)["reason"]
        declining = _decline(self.owner, question_id, reason)
        question = await self._settle(question_id, declining)
        if question is not None:
            await self._send_frame(
                {
                    "type": "decline.accepted",
                    "questionId": question_id,
                    "settledAt": timestamp(question.settled_at),
                }
            )

    async def _settle(self, question_id: str, settling: Awaitable[Question]) -> Question | None:
        """Run an answer or a decline; its refusal (or failure) becomes an error frame."""
        try:
            return await settling
        except ApplicationError as exc:
            await self._send_frame(error_frame(exc.code, exc.message, question_id, exc.details))
        except Exception:
            logger.exception("Settling question %s over the feed failed", question_id)
            await self._send_frame(
                error_frame("INTERNAL_ERROR", "That could not be saved; try again.", question_id)
            )
        return None

    async def _send_frame(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=encode(frame))


def _frame_question_id(frame: dict[str, Any]) -> str:
    raw_id = frame.get("questionId")
    question_id = uuid_or_none(raw_id)
    if question_id is None:
        echoed = raw_id if isinstance(raw_id, str) and len(raw_id) <= 100 else None
        raise FrameError(
            "VALIDATION_ERROR", "questionId must be the UUID of a pending question.", echoed
        )
    return question_id
