"""The SDK's retries against a scripted stub: 429/503 honour Retry-After, 502/504 and dropped
connections back off, every retry resends the same Idempotency-Key, and the retries stop at
max_wait."""

import asyncio
import json
import threading
import time

import pytest
from makima_client import AsyncMakimaClient, MakimaClient, RateLimited, RetryPolicy, Unavailable
from websockets.sync.server import serve

from tests.client.stub import DROP, Stub, answered, refused

FAST = RetryPolicy(base=0.01, cap=0.05, budget=5)


@pytest.mark.parametrize(
    "refusal", [refused(503, "SERVICE_UNAVAILABLE", "1"), refused(429, "THROTTLED", "1")]
)
def test_429_and_503_wait_for_retry_after_then_succeed_with_the_same_key(refusal):
    with Stub([refusal, answered()]) as stub:
        client = MakimaClient(stub.url, tool_key="mtk_x_y", retry=FAST)
        started = time.monotonic()
        outcome = client.ask("Go?")
        elapsed = time.monotonic() - started
    assert outcome.status == "answered" and outcome.response == "yes"
    assert elapsed >= 1.0  # the server's Retry-After, not the 10 ms backoff
    assert len(stub.requests) == 2
    keys = {request.headers["idempotency-key"] for request in stub.requests}
    assert len(keys) == 1 and keys.pop().startswith("makima-")


def test_502_504_and_dropped_connections_are_retried_with_one_key():
    script = [refused(502, "BAD_GATEWAY"), DROP, refused(504, "GATEWAY_TIMEOUT"), answered()]
    with Stub(script) as stub:
        outcome = MakimaClient(stub.url, tool_key="k", retry=FAST).ask(
            "Go?", idempotency_key="deploy-7"
        )
    assert outcome.status == "answered"
    assert [request.headers["idempotency-key"] for request in stub.requests] == ["deploy-7"] * 4
    assert all(request.body == stub.requests[0].body for request in stub.requests)


def test_a_retry_after_beyond_max_wait_raises_rate_limited_at_once():
    with Stub([refused(429, "THROTTLED", "30")]) as stub:
        started = time.monotonic()
        with pytest.raises(RateLimited) as raised:
            MakimaClient(stub.url, tool_key="k", retry=FAST).ask("Go?", max_wait=1)
    assert time.monotonic() - started < 1
    assert raised.value.retry_after == 30
    assert (raised.value.code, raised.value.status) == ("THROTTLED", 429)


def test_503_without_end_raises_unavailable_after_max_wait():
    with Stub([refused(503, "DB_UNAVAILABLE", "0")]) as stub:
        started = time.monotonic()
        with pytest.raises(Unavailable) as raised:
            MakimaClient(stub.url, tool_key="k", retry=FAST).ask("Go?", max_wait=0.5)
    assert 0.3 < time.monotonic() - started < 2
    assert raised.value.code == "DB_UNAVAILABLE"
    assert len(stub.requests) > 3


def test_the_async_client_retries_the_same_way():
    async def run():
        async with AsyncMakimaClient(stub.url, tool_key="k", retry=FAST) as client:
            return await client.create_order("Fix the build", idempotency_key="order-1")

    order = {"id": "o1", "title": "Fix the build"}
    with Stub([DROP, refused(503, "SERVICE_UNAVAILABLE", "0"), (201, {}, order)]) as stub:
        assert asyncio.run(run()) == order
    assert [request.headers["idempotency-key"] for request in stub.requests] == ["order-1"] * 3
    assert stub.requests[0].body == {
        "title": "Fix the build",
        "orderType": "spike",
        "priority": "medium",
        "labels": [],
    }


def test_watch_reconnects_after_the_socket_drops():
    """The first connection closes before any frame; the iterator reconnects (with the
    bearer subprotocol and an Origin) and yields the second connection's frames."""

    connections: list[dict] = []

    def handler(socket) -> None:
        connections.append(
            {"protocol": socket.subprotocol, "origin": socket.request.headers.get("Origin")}
        )
        if len(connections) == 1:
            socket.close(1011)
            return
        socket.send(json.dumps({"type": "snapshot", "questions": [], "total": 0}))
        socket.send(json.dumps({"type": "question.answered", "questionId": "q1"}))
        socket.recv()  # hold the socket until the client goes

    with serve(handler, "127.0.0.1", 0, subprotocols=["makima.bearer"]) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.socket.getsockname()[1]}"
        feed = MakimaClient(url, token="mkt_a_b", retry=FAST).watch()
        events = [next(feed), next(feed)]
        feed.close()
        server.shutdown()
    assert [event["type"] for event in events] == ["snapshot", "question.answered"]
    assert len(connections) == 2
    assert connections[1] == {"protocol": "makima.bearer", "origin": url}
