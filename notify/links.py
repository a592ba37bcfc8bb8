"""Signed answer links for email: one per choice, and one to decline.

A link carries the question, the choice (its index, or "decline") and is signed with
Django's signing module (salted; forged or altered links fail). It expires with the
question (its time to live) and is single-use: the first confirmed use settles the
question, after which every link of that question is refused. Opening a link (GET) only
shows a confirmation page; the POST from that page answers through the usual service.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

from mesh.models import MAX_TTL_SECONDS, Question

SALT = "notify.answer-link"
DECLINE = "decline"
# No question lives longer than MAX_TTL_SECONDS; a link older than that is refused unread.
MAX_LINK_AGE_SECONDS = MAX_TTL_SECONDS + 86400


@dataclass(frozen=True)
class AnswerLink:
    question_id: str
    choice: str  # a choice's index as a string, or DECLINE


def make_token(question: Question, choice: str) -> str:
    return signing.dumps({"q": str(question.id), "c": choice}, salt=SALT, compress=True)


def read_token(token: str) -> AnswerLink:
    """The link, or signing.BadSignature for a forged or altered one. Expiry and single
    use are the question's (checked by the page against the row)."""
    value = signing.loads(token, salt=SALT, max_age=int(MAX_LINK_AGE_SECONDS))
    if not isinstance(value, dict) or "q" not in value or "c" not in value:
        raise signing.BadSignature("malformed answer link")
    return AnswerLink(question_id=str(value["q"]), choice=str(value["c"]))


def absolute(path: str) -> str:
    return settings.NOTIFY_BASE_URL.rstrip("/") + path


def answer_links(question: Question) -> list[tuple[str, str]]:
    """(label, absolute URL) for each choice, then Decline."""
    links = [
        (choice, absolute(reverse("notify-answer", args=[make_token(question, str(i))])))
        for i, choice in enumerate(question.choices or [])
    ]
    links.append(
        ("Decline", absolute(reverse("notify-answer", args=[make_token(question, DECLINE)])))
    )
    return links


def question_link(question: Question) -> str:
    return absolute(f"/questions/{question.id}/")
