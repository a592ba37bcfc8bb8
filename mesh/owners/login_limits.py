"""The failed-login limit of both login pages, /accounts/login/ and /admin/login/.

Failed logins count against the client address, as failed API authentications and bad
tokens on the feed socket do (one counter: the `auth_failure` throttle scope,
makima_site/throttles.py), and against the username tried (the same rate, keyed by a hash
of the username, so guessing one owner's password from many addresses stops too). Once
either is over the limit, a login post gets a 429 page with Retry-After before the password
is checked, whichever page it came to.

`login_limited(view)` wraps a login view: it refuses locked-out posts and counts a post
whose form came back with errors. It also marks the view as one that hashes passwords, so
makima_site/asgi_handler.py lets only MAX_CONCURRENT_LOGINS of its posts run at once per
process (the rest wait, holding no request slot, and get 429 after LOGIN_QUEUE_TIMEOUT):
a login flood cannot take every request slot and every core.

Why not django-axes: it would be a second limit (its own settings, tables and lockout
responses) beside the one the API and the socket already share, and it counts only what
goes through authenticate(), not bad API tokens or socket handshakes.
"""

import hashlib
import math
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template.response import TemplateResponse

from makima_site import throttles
from makima_site.asgi_handler import HASHES_PASSWORDS

View = Callable[..., HttpResponseBase]


def _username_ident(request: HttpRequest) -> str | None:
    username = request.POST.get("username", "").strip()
    if not username:
        return None
    digest = hashlib.sha256(username.casefold().encode("utf-8")).hexdigest()[:32]
    return f"username:{digest}"


def _idents(request: HttpRequest) -> list[str]:
    username = _username_ident(request)
    address = throttles.request_client_address(request)
    return [address, username] if username else [address]


def login_wait(request: HttpRequest) -> float | None:
    """Seconds this login post must wait (its address or its username is locked out)."""
    waits = [wait for ident in _idents(request) if (wait := throttles.auth_failure_wait(ident))]
    return max(waits) if waits else None


def login_failed(request: HttpRequest) -> None:
    """Count one failed login of the post's address and username."""
    for ident in _idents(request):
        throttles.auth_failure_record(ident)


def _form_has_errors(response: HttpResponseBase) -> bool:
    context = getattr(response, "context_data", None) or {}
    form = context.get("form")
    return form is not None and bool(form.errors)


def too_many_logins(request: HttpRequest, wait: float) -> HttpResponse:
    response = TemplateResponse(
        request,
        "registration/too_many_logins.html",
        {"wait": math.ceil(wait), "login_path": request.path},
        status=429,
    )
    response["Retry-After"] = str(math.ceil(wait))
    return response


def login_limited(view: View) -> View:
    """`view` (a login page) under the failed-login limit and the login slots."""

    @wraps(view)
    def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method != "POST":
            return view(request, *args, **kwargs)
        wait = login_wait(request)
        if wait is not None:
            return too_many_logins(request, wait)
        response = view(request, *args, **kwargs)
        if _form_has_errors(response):
            login_failed(request)
        return response

    setattr(limited, HASHES_PASSWORDS, True)
    return limited
