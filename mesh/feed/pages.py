"""The owners' questions page: Pending (live from the feed websocket) and History (the REST
list /api/v1/questions/), a deep link per question, and its context rendered as Markdown.

Session only: a logged-out visitor is sent to the login page; another owner's question is
404, as if it did not exist. Every page response carries a Content-Security-Policy that
allows the site's own scripts only, so nothing a task wrote can run even if it got through.
"""

import logging
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET

from mesh.feed.markdown import render_markdown
from mesh.models import Question
from mesh.questions import selectors
from mesh.questions.events import pending_question_item

logger = logging.getLogger(__name__)

FEED_SOCKET_PATH = "/ws/v1/mesh/questions/"
HISTORY_API_PATH = "/api/v1/questions/"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def _page(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    response = render(
        request,
        template,
        {
            "socket_path": FEED_SOCKET_PATH,
            "history_path": HISTORY_API_PATH,
            "outcome_ms": round(settings.MESH_PAGE_OUTCOME_SECONDS * 1000),
            **context,
        },
    )
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


def _owned_question(request: HttpRequest, question_id: uuid.UUID) -> Question:
    question = selectors.question_get(owner=request.user, question_id=question_id)  # type: ignore[arg-type]
    if question is None:
        raise Http404("Question not found.")
    return question


@require_GET
@login_required
def questions_page(request: HttpRequest) -> HttpResponse:
    """The owner's questions: the Pending and History tabs (mesh/feed/static/mesh/)."""
    return _page(request, "mesh/questions.html", {})


@require_GET
@login_required
def question_page(request: HttpRequest, question_id: uuid.UUID) -> HttpResponse:
    """/questions/<id>/: a pending question with its answer form, or a settled one's outcome."""
    question = _owned_question(request, question_id)
    status = Question.Status.EXPIRED if question.is_past_ttl else question.status
    pending = status == Question.Status.PENDING
    return _page(
        request,
        "mesh/question.html",
        {
            "question": question,
            "status": status,
            "status_label": Question.Status(status).label,
            "pending": pending,
            "item": pending_question_item(question) if pending else None,
            "context_html": context_html(question),
            "wait_seconds": _wait_seconds(question),
        },
    )


@require_GET
@login_required
def question_context(request: HttpRequest, question_id: uuid.UUID) -> HttpResponse:
    """/questions/<id>/context/: the question's whole context as sanitised HTML (a fragment
    the page fetches when a card's Context is opened)."""
    question = _owned_question(request, question_id)
    response = HttpResponse(context_html(question), content_type="text/html")
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response["Cache-Control"] = "private, no-store"
    return response


# A context never changes after the ask, so its HTML is kept in the cache (markdown-it-py
# takes ~130 ms for the longest one allowed; docs/questions-page.md). Bump the version when
# the rendering changes.
CONTEXT_CACHE_KEY = "mesh:context-html:v1:{id}"
CONTEXT_CACHE_SECONDS = 3600


def context_html(question: Question) -> SafeString:
    """The question's context as sanitised HTML, from the cache when it was rendered before.
    Ownership is checked before this is called; a cache failure only costs the rendering."""
    key = CONTEXT_CACHE_KEY.format(id=question.pk)
    try:
        cached = cache.get(key)
    except Exception:
        logger.warning("The cache is unavailable; rendering the context of %s", question.pk)
        cached = None
    if isinstance(cached, str):
        return mark_safe(cached)  # noqa: S308 - render_markdown's own output
    html = render_markdown(question.context)
    try:
        cache.set(key, str(html), CONTEXT_CACHE_SECONDS)
    except Exception:
        logger.warning("The cache is unavailable; the context of %s is not kept", question.pk)
    return html


def _wait_seconds(question: Question) -> int | None:
    if question.settled_at is None:
        return None
    return max(0, round((question.settled_at - question.created_at).total_seconds()))
