"""bench/run.py part `webhooks`: 1,000 questions asked by 100 tasks, one webhook endpoint.

A local aiohttp receiver verifies every delivery with the standardwebhooks library and
notes when it arrived; the worker (`manage.py db_worker`, one process embedded, two on
PostgreSQL) runs beside the server(s). Measured: deliveries verified and how long until the
last arrived, ask -> receipt p50/p99, and the ask endpoint's latency for an owner with an
endpoint against one without (side by side in one run: the enqueueing's cost).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web
from standardwebhooks.webhooks import Webhook as Verifier

from bench import harness as h

if TYPE_CHECKING:
    from bench.run import Ctx

QUESTIONS = 1000
TASKS = 100
WORKERS = 2  # worker processes (one per core of the 2-core reference machine)


class Receiver:
    def __init__(self) -> None:
        self.secret = ""
        self.arrived: dict[str, float] = {}  # questionId -> receipt time (perf_counter)
        self.ids: dict[str, set[str]] = {}  # questionId -> webhook-ids seen
        self.unverified = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        now = time.perf_counter()
        try:
            payload = Verifier(self.secret).verify(body, dict(request.headers))
        except Exception:  # noqa: BLE001 - counted, not raised
            self.unverified += 1
            return web.Response(status=400)
        if payload.get("type") == "question.asked":
            qid = payload["data"]["id"]
            self.arrived.setdefault(qid, now)
            self.ids.setdefault(qid, set()).add(request.headers["webhook-id"])
        return web.Response(status=204)


async def _asks(
    server: h.Server, tasks: list[dict[str, Any]], marker: str, per_task: int
) -> dict[str, float]:
    """`per_task` non-blocking asks by each task, the tasks at once; questionId -> ask
    start (and the latencies in seconds under the key "")."""
    started: dict[str, float] = {}
    latencies: list[float] = []
    async with h.new_session() as session:

        async def one_task(task: dict[str, Any]) -> None:
            for i in range(per_task):
                reply = await h.ask(
                    session, server, task["key"], f"{marker} {i}", non_blocking=True, timeout=60
                )
                if reply.status == 200:
                    started[reply.body["questionId"]] = reply.started
                    latencies.append(reply.seconds)

        await asyncio.gather(*(one_task(t) for t in tasks))
    started[""] = 0.0
    _asks.latencies = latencies  # type: ignore[attr-defined]
    return started


def _workers(ctx: Ctx, count: int) -> list[subprocess.Popen[bytes]]:
    env = {**ctx.cluster.env, "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1", "LOG_LEVEL": "WARNING"}
    return [
        subprocess.Popen(
            [
                sys.executable,
                str(h.ROOT / "manage.py"),
                "db_worker",
                "--no-reload",
                "--interval",
                "0.02",
                "--verbosity",
                "0",
            ],
            cwd=h.ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


def _enqueue_cost(ctx: Ctx, n: int) -> dict[str, Any]:
    """bench/enqueue_cost.py's figures (question_ask() timed in-process, interleaved)."""
    result = subprocess.run(
        [sys.executable, str(h.ROOT / "bench" / "enqueue_cost.py"), f"bench-{ctx.run_id}", str(n)],
        cwd=h.ROOT,
        env={**ctx.cluster.env, "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"enqueue_cost.py failed:\n{result.stderr[-3000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


async def part_webhooks(ctx: Ctx) -> None:
    c = ctx.cluster
    c.migrate()
    groups = c.fixtures(
        [
            {"name": "hooked", "owners": 1, "tasks_per_owner": TASKS},
            {"name": "plain", "owners": 1, "tasks_per_owner": TASKS},
        ]
    )
    hooked, plain = groups["hooked"][0], groups["plain"][0]
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = c.ports[1] + 10
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await c.start(h.LONG_WAITS, {**h.UNTHROTTLED_ENV, "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1"})
    server = c.servers[0]
    workers = _workers(ctx, WORKERS)
    try:
        async with h.new_session() as session:
            made = await h.call(
                session,
                "POST",
                server.base + "/api/v1/webhooks/",
                headers=h.owner_headers(hooked["token"]),
                json_body={"url": f"http://127.0.0.1:{port}/hook", "events": ["question.asked"]},
            )
            if made.status != 201:
                raise RuntimeError(f"webhook create failed: {made.status} {made.body}")
            receiver.secret = made.body["secret"]
        per_task = QUESTIONS // TASKS
        await _asks(server, hooked["tasks"][:20], ctx.marker("warm", 0), 2)  # warm-up
        await asyncio.sleep(2)
        receiver.arrived.clear()
        receiver.ids.clear()
        await _asks(server, plain["tasks"], ctx.marker("plain", 0), per_task)
        without = h.summary_ms(_asks.latencies)  # type: ignore[attr-defined]
        t0 = time.perf_counter()
        started = await _asks(server, hooked["tasks"], ctx.marker("hooked", 0), per_task)
        with_hooks = h.summary_ms(_asks.latencies)  # type: ignore[attr-defined]
        asked = {k: v for k, v in started.items() if k}
        deadline = time.perf_counter() + 120
        while time.perf_counter() < deadline and not set(asked) <= set(receiver.arrived):
            await asyncio.sleep(0.05)
        got = [qid for qid in asked if qid in receiver.arrived]
        all_in = max((receiver.arrived[q] for q in got), default=t0) - t0
        to_receipt = h.summary_ms([receiver.arrived[q] - asked[q] for q in got])
        duplicates = sum(len(ids) > 1 for ids in receiver.ids.values())
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(10)
            except subprocess.TimeoutExpired:
                worker.kill()
        await runner.cleanup()
    cost = _enqueue_cost(ctx, 400)
    ctx.report.data["webhooks"] = {
        "enqueue_cost": cost,
        "asked": len(asked),
        "delivered": len(got),
        "unverified": receiver.unverified,
        "all_delivered_s": all_in,
        "ask_to_receipt": to_receipt,
        "ask_without": without,
        "ask_with": with_hooks,
        "workers": len(workers),
    }
    r = ctx.report
    r.add(
        "webhooks",
        f"question.asked deliveries verified ({len(workers)} worker(s))",
        f"{len(got)}/{len(asked)}; {receiver.unverified} unverified; {duplicates} with 2 ids",
        f"{QUESTIONS}",
        len(got) == QUESTIONS and receiver.unverified == 0 and not duplicates,
    )
    r.add(
        "webhooks", "  all delivered, from the first ask", f"{all_in:.1f} s", "< 10 s", all_in < 10
    )
    r.add("webhooks", "  ask -> receipt", h.lat(to_receipt))
    r.add("webhooks", "ask latency, owner without webhooks", h.lat(without))
    r.add("webhooks", "ask latency, owner with one webhook", h.lat(with_hooks))
    if without["p50_ms"] and with_hooks["p50_ms"]:
        extra = with_hooks["p50_ms"] - without["p50_ms"]
        r.add("webhooks", "  difference, p50 (noisy: 100 concurrent asks)", f"{extra:+.1f} ms")
    r.add("webhooks", "question_ask() in-process, no webhook", h.lat(cost["plain"]))
    r.add("webhooks", "question_ask() in-process, one webhook", h.lat(cost["hooked"]))
    extra = cost["hooked"]["p50_ms"] - cost["plain"]["p50_ms"]
    r.add("webhooks", "  enqueueing's cost, p50", f"{extra:+.2f} ms", "<= 2 ms", extra <= 2)
    print(json.dumps(ctx.report.data["webhooks"], default=str)[:400])
