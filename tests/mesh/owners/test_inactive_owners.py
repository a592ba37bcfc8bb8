"""Inactive owners: their tasks' tool keys are refused on every tool-key endpoint of a real
daphne, and deactivating an owner (or changing its password) closes its feed sockets."""

import json
from contextlib import ExitStack

import httpx
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.test import Client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests import factories
from tests.live_daphne import off_thread

pytestmark = pytest.mark.django_db(transaction=True)

ASK = "/api/v1/mesh/supervisor/questions"
FEED = "/ws/v1/mesh/questions/"
PBKDF2 = "django.contrib.auth.hashers.PBKDF2PasswordHasher"
needs_redis = pytest.mark.skipif(
    not settings.REDIS_URL,
    reason="the change is made in the test process: it reaches the server only through Redis",
)


def _set(owner_id: int, **fields) -> None:
    user = get_user_model().objects.get(pk=owner_id)
    for name, value in fields.items():
        if name == "password":
            user.set_password(value)
        else:
            setattr(user, name, value)
    user.save()


def _session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def _open(server, *, token: str | None = None, cookie: str | None = None):
    if token is not None:
        return connect(
            f"{server.ws_url}{FEED}", subprotocols=["makima.bearer", token], open_timeout=10
        )
    return connect(
        f"{server.ws_url}{FEED}",
        origin=server.base_url,
        additional_headers={"Cookie": cookie or ""},
        open_timeout=10,
    )


def _close_code_within(socket, seconds: float) -> int | None:
    """The close code if the server closes the socket within `seconds` (frames before it are
    read and dropped), else None."""
    try:
        while True:
            socket.recv(timeout=seconds)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None
    except TimeoutError:
        return None


def _snapshot(socket) -> dict:
    frame = json.loads(socket.recv(timeout=10))
    assert frame["type"] == "snapshot"
    return frame


def test_an_inactive_owners_tool_keys_are_401_on_every_tool_key_endpoint(
    owner, task_and_key, daphne_servers
):
    """ask, poll, cancel and orders all refuse the key with 401 UNAUTHORIZED saying why."""
    task, tool_key = task_and_key
    question = factories.make_question(task)
    server = daphne_servers("inactive", MESH_POLL_WAIT_SECONDS="0.2")
    headers = {"X-Makima-Tool-Key": tool_key}
    assert (
        httpx.post(
            f"{server.base_url}{ASK}", json={"question": "?", "nonBlocking": True}, headers=headers
        ).status_code
        == 200
    )

    _set(owner.pk, is_active=False)

    with httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as client:
        replies = {
            "ask": client.post(ASK, json={"question": "Still there?", "nonBlocking": True}),
            "poll": client.get(f"{ASK}/{question.id}/poll"),
            "cancel": client.delete(f"{ASK}/{question.id}"),
            "orders": client.post("/api/v1/mesh/supervisor/orders", json={"title": "x"}),
        }
    for name, reply in replies.items():
        assert reply.status_code == 401, (name, reply.text)
        assert reply.json()["code"] == "UNAUTHORIZED", name
        assert "inactive" in reply.json()["message"], name
    task.refresh_from_db()
    assert task.questions.count() == 2  # nothing was asked, cancelled or filed
    assert not task.questions.filter(status="cancelled").exists()


async def test_deactivating_an_owner_closes_its_socket_in_this_process(sockets, owner, owner_token):
    """The in-process path (no Redis needed): the socket closes with 4401."""
    from asgiref.sync import sync_to_async

    communicator, connected, _ = await sockets(subprotocols=["makima.bearer", owner_token])
    assert connected
    assert (await communicator.receive_json_from())["type"] == "snapshot"
    await sync_to_async(_set, thread_sensitive=False)(owner.pk, is_active=False)
    assert await communicator.receive_output() == {"type": "websocket.close", "code": 4401}


@needs_redis
def test_deactivating_an_owner_closes_every_socket_within_a_second(
    owner, owner_token, daphne_servers
):
    """Token and session sockets on two server processes all close with 4401 within 1 s of
    the change, made in a third process (this one)."""
    server_a, server_b = daphne_servers("a"), daphne_servers("b")
    cookie = off_thread(_session_cookie, owner)
    others = factories.make_owner("bystander")
    bystander_token = factories.make_token(others)
    with ExitStack() as stack:
        sockets = [
            stack.enter_context(_open(server_a, token=owner_token)),
            stack.enter_context(_open(server_b, token=owner_token)),
            stack.enter_context(_open(server_a, cookie=cookie)),
            stack.enter_context(_open(server_b, cookie=cookie)),
        ]
        bystander = stack.enter_context(_open(server_a, token=bystander_token))
        for socket in [*sockets, bystander]:
            _snapshot(socket)
        off_thread(_set, owner.pk, is_active=False)
        assert [_close_code_within(socket, 1.0) for socket in sockets] == [4401] * 4
        bystander.send(json.dumps({"type": "ping"}))
        assert json.loads(bystander.recv(timeout=5)) == {"type": "pong"}


@needs_redis
def test_a_password_change_closes_the_session_sockets_not_the_token_ones(
    owner, owner_token, daphne_servers
):
    """A new password ends every session of the owner (Django's rule), so their sockets
    close with 4401; a socket opened with an API token stays open."""
    server = daphne_servers("password")
    cookie = off_thread(_session_cookie, owner)
    with _open(server, cookie=cookie) as by_session, _open(server, token=owner_token) as by_token:
        _snapshot(by_session)
        _snapshot(by_token)
        off_thread(_set, owner.pk, password="a-new-long-password")
        assert _close_code_within(by_session, 1.0) == 4401
        by_token.send(json.dumps({"type": "ping"}))
        assert json.loads(by_token.recv(timeout=5)) == {"type": "pong"}


def test_changing_the_password_through_the_page_closes_the_session_socket(
    owner, daphne_servers, settings
):
    """The password change made by the server itself (Django's password change view through
    the admin, in the server's process): the session's socket closes with 4401."""
    server = daphne_servers("password-page")
    # The server checks passwords with the production hashers (this process uses MD5).
    settings.PASSWORD_HASHERS = [*settings.PASSWORD_HASHERS, PBKDF2]
    owner.password = make_password("pw", hasher="pbkdf2_sha256")
    owner.is_staff = True
    owner.save()
    with httpx.Client(base_url=server.base_url, timeout=20) as client:
        client.get("/admin/login/")
        login = client.post(
            "/admin/login/",
            data={
                "username": owner.username,
                "password": "pw",
                "csrfmiddlewaretoken": client.cookies["csrftoken"],
                "next": "/admin/",
            },
            headers={"Referer": f"{server.base_url}/admin/login/"},
        )
        assert login.status_code == 302, login.text
        cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME]}"
        with _open(server, cookie=cookie) as socket:
            _snapshot(socket)
            client.get("/admin/password_change/")
            changed = client.post(
                "/admin/password_change/",
                data={
                    "old_password": "pw",
                    "new_password1": "a-new-long-password-1",
                    "new_password2": "a-new-long-password-1",
                    "csrfmiddlewaretoken": client.cookies["csrftoken"],
                },
                headers={"Referer": f"{server.base_url}/admin/password_change/"},
            )
            assert changed.status_code == 302, changed.text
            assert _close_code_within(socket, 1.0) == 4401
