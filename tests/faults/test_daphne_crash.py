"""`kill -9` of a daphne process with 100 pending questions."""

import asyncio
import time

import httpx
import pytest

from tests.faults.conftest import seed

pytestmark = pytest.mark.faults

ASK = "/api/v1/mesh/supervisor/questions"
QUESTIONS = 100


def test_pending_questions_survive_kill_9_and_every_answer_reaches_its_task(daphne, pg):
    """50 questions asked non-blocking and 50 blocked when daphne dies by SIGKILL: after a
    restart all 100 are listed for their owner, and once answered every task's poll returns
    its answer."""
    world = seed(pg, tasks=10)
    token, keys = world["token"], world["keys"]
    owner_headers = {"Authorization": f"Bearer {token}"}
    server = daphne("a", MESH_BLOCK_WAIT_SECONDS=60)
    asked: dict[str, str] = {}  # question text → tool key of the task that asked it

    async def before_the_crash() -> list[dict]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:

            async def ask(index: int, blocking: bool):
                key = keys[index % len(keys)]
                text = f"Crash drill {index}"
                asked[text] = key
                return await client.post(
                    f"{server.url}{ASK}",
                    json={"question": text, "nonBlocking": not blocking, "phaseguard": True},
                    headers={"X-Makima-Tool-Key": key},
                )

            quick = await asyncio.gather(*(ask(i, False) for i in range(QUESTIONS // 2)))
            assert all(reply.status_code == 200 for reply in quick)
            blocked = [
                asyncio.ensure_future(ask(i, True)) for i in range(QUESTIONS // 2, QUESTIONS)
            ]
            # All blocked asks waiting, and all 100 rows written (a waiter registers just
            # before its row is created).
            deadline = time.monotonic() + 30
            while True:
                hub = (await client.get(f"{server.url}/_ops/wakehub")).json()["hub"]
                listed = (
                    await client.get(f"{server.url}/api/v1/mesh/questions", headers=owner_headers)
                ).json()
                if hub and hub["futures"] >= QUESTIONS // 2 and len(listed) == QUESTIONS:
                    break
                assert time.monotonic() < deadline, (hub, len(listed))
                await asyncio.sleep(0.1)

            server.kill9()  # mid-wait: the 50 blocked clients lose their connection
            outcomes = await asyncio.gather(*blocked, return_exceptions=True)
            assert all(isinstance(outcome, httpx.HTTPError) for outcome in outcomes), outcomes
            return listed

    listed_before = asyncio.run(before_the_crash())
    restarted_at = time.monotonic()
    server.start()
    restart_s = time.monotonic() - restarted_at

    async def after_the_restart() -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            listed = (
                await client.get(f"{server.url}/api/v1/mesh/questions", headers=owner_headers)
            ).json()
            assert {item["questionId"] for item in listed} == {
                item["questionId"] for item in listed_before
            }
            assert {item["question"] for item in listed} == set(asked)

            for item in listed:
                reply = await client.post(
                    f"{server.url}/api/v1/mesh/questions/{item['questionId']}/answer",
                    json={"response": f"answer to {item['question']}"},
                    headers=owner_headers,
                )
                assert reply.status_code == 200, reply.text

            async def repoll(item: dict) -> None:
                reply = await client.get(
                    f"{server.url}{ASK}/{item['questionId']}/poll",
                    headers={"X-Makima-Tool-Key": asked[item["question"]]},
                )
                assert reply.status_code == 200, reply.text
                assert reply.json()["response"] == f"answer to {item['question']}"
                assert reply.json()["stillPending"] is False

            await asyncio.gather(*(repoll(item) for item in listed))
            remaining = await client.get(
                f"{server.url}/api/v1/mesh/questions", headers=owner_headers
            )
            assert remaining.json() == []

    asyncio.run(after_the_restart())
    print(f"daphne crash figures: restart to healthy {restart_s:.2f}s, {QUESTIONS} questions kept")
