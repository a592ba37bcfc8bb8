"""PostgreSQL restarts under load."""

import asyncio
import time

import httpx
import pytest

from tests.faults.conftest import seed

pytestmark = pytest.mark.faults

POOL_TIMEOUT = 2.0  # DB_POOL_TIMEOUT of the daphne under test
CLIENTS = 4


def test_requests_get_503_db_unavailable_while_postgres_is_down_and_succeed_after(daphne, pg):
    """Clients list directives and ask questions while PostgreSQL stops (immediate) and
    starts again: during the outage every failure is 503 DB_UNAVAILABLE in the error shape,
    none is a 500 and none waits beyond the pool timeout; once PostgreSQL is back the same
    daphne serves every request again."""
    world = seed(pg, tasks=CLIENTS)
    server = daphne("a", DB_POOL_TIMEOUT=POOL_TIMEOUT, DB_POOL_MAX_SIZE=4)
    headers = {"Authorization": f"Bearer {world['token']}"}
    records: list[tuple[float, float, str, int, dict]] = []  # start, latency, kind, status, body
    phase = {"stop": False}

    async def client_loop(client: httpx.AsyncClient, index: int) -> None:
        key = world["keys"][index]
        turn = 0
        while not phase["stop"]:
            turn += 1
            started = time.monotonic()
            if turn % 2:
                kind = "list"
                reply = await client.get(f"{server.url}/api/v1/directives/", headers=headers)
            else:
                kind = "ask"
                reply = await client.post(
                    f"{server.url}/api/v1/mesh/supervisor/questions",
                    json={"question": f"Still there? {index}/{turn}", "nonBlocking": True},
                    headers={"X-Makima-Tool-Key": key},
                )
            latency = time.monotonic() - started
            try:
                body = reply.json()
            except ValueError:
                body = {"raw": reply.text[:200]}
            records.append((started, latency, kind, reply.status_code, body))
            await asyncio.sleep(0.02)

    async def scenario() -> dict[str, float]:
        async with httpx.AsyncClient(timeout=15) as client:
            loops = [asyncio.ensure_future(client_loop(client, i)) for i in range(CLIENTS)]
            try:
                await asyncio.sleep(1.0)
                stopped_at = time.monotonic()
                await asyncio.to_thread(pg.stop, "immediate")
                await asyncio.sleep(4.0)
                await asyncio.to_thread(pg.start)
                started_at = time.monotonic()
                # Give the pool a bounded time to come back, then require clean service.
                deadline = started_at + 10
                while True:
                    await asyncio.sleep(0.2)
                    recent = [r for r in records if r[0] > time.monotonic() - 1.0]
                    if recent and all(r[3] == 200 for r in recent):
                        break
                    assert time.monotonic() < deadline, "requests kept failing after the restart"
                healthy_at = time.monotonic()
                await asyncio.sleep(1.0)
            finally:
                phase["stop"] = True
                await asyncio.gather(*loops)
            return {"stopped_at": stopped_at, "started_at": started_at, "healthy_at": healthy_at}

    marks = asyncio.run(scenario())
    statuses = {status for _, _, _, status, _ in records}
    assert statuses <= {200, 503}, (statuses, server.log()[-4000:])
    failures = [r for r in records if r[3] == 503]
    assert failures, "no request saw the outage"
    for _, latency, _, _, body in failures:
        assert body.get("code") == "DB_UNAVAILABLE", body
        assert isinstance(body.get("message"), str) and body["message"]
        assert latency < POOL_TIMEOUT + 1.5, latency
    assert max(r[1] for r in records) < POOL_TIMEOUT + 1.5
    # After recovery: the last second of traffic all succeeded, on both endpoints.
    tail = [r for r in records if r[0] >= marks["healthy_at"]]
    assert {r[2] for r in tail} == {"list", "ask"}
    assert all(r[3] == 200 for r in tail)
    first_503 = min(r[0] for r in failures)
    last_503 = max(r[0] + r[1] for r in failures)
    first_ok_after = min(
        (r[0] + r[1] for r in records if r[3] == 200 and r[0] >= marks["started_at"]),
        default=float("nan"),
    )
    print(
        "postgres restart figures:",
        {
            "requests": len(records),
            "503s": len(failures),
            "outage_503_window_s": round(last_503 - first_503, 3),
            "max_latency_s": round(max(r[1] for r in records), 3),
            "first_success_after_start_s": round(first_ok_after - marks["started_at"], 3),
            "all_clean_after_start_s": round(marks["healthy_at"] - marks["started_at"], 3),
        },
    )
