"""Every endpoint that takes a JSON body, with a valid body and its text fields: the table
the input-validation tests (tests/makima_site/test_input_validation.py) run over."""

from dataclasses import dataclass, field
from typing import Any

REPO = "https://example.com/repo"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # {directive}, {task}, {question}, {order}, {webhook}, {channel}: per test
    credential: str  # "owner" (API token) or "tool" (tool key)
    body: dict[str, Any]
    # camelCase keys of the body whose values are text (for a list field: its items).
    text_fields: tuple[str, ...] = field(default=())

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


_DIRECTIVE = {
    "title": "t",
    "goal": "g",
    "repositoryUrl": REPO,
    "reconcileMode": "manual",
    "status": "active",
}
_DIRECTIVE_TEXT = ("title", "goal", "repositoryUrl", "reconcileMode", "status")
_TASK = {"name": "n", "directive": "{directive}", "status": "running"}
_TASK_TEXT = ("name", "directive", "status")
_ORDER = {
    "title": "t",
    "description": "d",
    "directive": "{directive}",
    "orderType": "chore",
    "priority": "low",
    "status": "open",
    "labels": ["a"],
    "repositoryUrl": REPO,
}
_ORDER_TEXT = (
    "title",
    "description",
    "directive",
    "orderType",
    "priority",
    "status",
    "labels",
    "repositoryUrl",
)
_TASK_ORDER = {
    "title": "t",
    "description": "d",
    "priority": "low",
    "orderType": "spike",
    "labels": ["a"],
    "repositoryUrl": REPO,
}

_WEBHOOK = {
    "url": "https://example.com/hook",
    "events": ["question.asked"],
    "description": "d",
    "isActive": True,
}
_WEBHOOK_TEXT = ("url", "events", "description")
_CHANNEL = {
    "kind": "email",
    "target": "owner@example.com",
    "events": ["question.asked"],
    "remindAfterMinutes": 15,
    "isActive": True,
}
_CHANNEL_TEXT = ("kind", "target", "events")

ENDPOINTS = (
    Endpoint("POST", "/api/v1/directives/", "owner", _DIRECTIVE, _DIRECTIVE_TEXT),
    Endpoint("PUT", "/api/v1/directives/{directive}/", "owner", _DIRECTIVE, _DIRECTIVE_TEXT),
    Endpoint("PATCH", "/api/v1/directives/{directive}/", "owner", _DIRECTIVE, _DIRECTIVE_TEXT),
    Endpoint("POST", "/api/v1/tasks/", "owner", _TASK, _TASK_TEXT),
    Endpoint("PUT", "/api/v1/tasks/{task}/", "owner", _TASK, _TASK_TEXT),
    Endpoint("PATCH", "/api/v1/tasks/{task}/", "owner", _TASK, _TASK_TEXT),
    Endpoint("POST", "/api/v1/tokens/", "owner", {"name": "n"}, ("name",)),
    Endpoint("POST", "/api/v1/orders/", "owner", _ORDER, _ORDER_TEXT),
    Endpoint("PATCH", "/api/v1/orders/{order}/", "owner", _ORDER, _ORDER_TEXT),
    Endpoint(
        "POST",
        "/api/v1/mesh/questions/{question}/answer",
        "owner",
        {"response": "r"},
        ("response",),
    ),
    Endpoint(
        "POST", "/api/v1/mesh/questions/{question}/decline", "owner", {"reason": "r"}, ("reason",)
    ),
    Endpoint(
        "POST", "/api/v1/questions/{question}/answer/", "owner", {"response": "r"}, ("response",)
    ),
    Endpoint(
        "POST", "/api/v1/questions/{question}/decline/", "owner", {"reason": "r"}, ("reason",)
    ),
    Endpoint("POST", "/api/v1/webhooks/", "owner", _WEBHOOK, _WEBHOOK_TEXT),
    Endpoint("PUT", "/api/v1/webhooks/{webhook}/", "owner", _WEBHOOK, _WEBHOOK_TEXT),
    Endpoint("PATCH", "/api/v1/webhooks/{webhook}/", "owner", _WEBHOOK, _WEBHOOK_TEXT),
    Endpoint("POST", "/api/v1/notification-channels/", "owner", _CHANNEL, _CHANNEL_TEXT),
    Endpoint("PUT", "/api/v1/notification-channels/{channel}/", "owner", _CHANNEL, _CHANNEL_TEXT),
    Endpoint("PATCH", "/api/v1/notification-channels/{channel}/", "owner", _CHANNEL, _CHANNEL_TEXT),
    Endpoint(
        "POST",
        "/api/v1/mesh/supervisor/orders",
        "tool",
        _TASK_ORDER,
        ("title", "description", "priority", "orderType", "labels", "repositoryUrl"),
    ),
    Endpoint(
        "POST",
        "/api/v1/mesh/supervisor/questions",
        "tool",
        {
            "question": "q",
            "choices": ["a", "b"],
            "context": "c",
            "questionType": "general",
            "nonBlocking": True,
        },
        ("question", "choices", "context", "questionType"),
    ),
    Endpoint(
        "DELETE",
        "/api/v1/mesh/supervisor/questions/{question}",
        "tool",
        {"reason": "r"},
        ("reason",),
    ),
)

# Text in query strings (filters) that reaches the database.
QUERY_TEXT = (
    ("/api/v1/orders/", "search"),
    ("/api/v1/orders/", "label"),
    ("/api/v1/directives/", "status"),
    ("/api/v1/tasks/", "status"),
)
