#!/usr/bin/env python
"""Makima mesh benchmarks (issues 4, 5 and 6). See bench/README.md.

    bench/run.py                         # wake, waiters, leak, push, lists at default sizes
    bench/run.py wake                    # one part alone
    bench/run.py waiters --waiters 5000
    bench/run.py leak --leak 10000
    bench/run.py push
    bench/run.py lists --list-sizes 0,2000,20000
    bench/run.py webhooks                # 1,000 asks, one webhook endpoint, the worker
    bench/run.py soak --minutes 5        # or: bench/run.py --soak (PostgreSQL + Redis only)
    bench/run.py chaos --minutes 10      # the chaos soak on `make cluster` (bench/chaos.py)
    bench/run.py throughput              # daphne vs gunicorn, SQLite and DATABASE_URL (wrk)

The harness starts the server itself: ONE daphne on SQLite + the in-memory channel layer
(embedded), or TWO daphne processes on the same PostgreSQL database and Redis when
DATABASE_URL and REDIS_URL are set. It prints a table of every figure next to its target and
writes the same as JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
from websockets.asyncio.client import connect as ws_connect  # noqa: E402
from websockets.typing import Origin, Subprotocol  # noqa: E402

from bench import harness as h  # noqa: E402
from bench import throughput as tp  # noqa: E402
from bench.webhooks import part_webhooks  # noqa: E402

PARTS = ("wake", "waiters", "leak", "push", "lists", "webhooks", "soak", "throughput")
DEFAULT_PARTS = ("wake", "waiters", "leak", "push", "lists")
DEPLOYMENT = {
    "embedded": "1 daphne, SQLite + in-memory layer",
    "redis": "2 daphne, PostgreSQL + Redis",
}
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def feed_connect(server: h.Server, token: str, *, max_size: int | None) -> Any:
    """A feed socket as an owner's program opens it (token subprotocol, its own Origin)."""
    return ws_connect(
        server.ws_base + h.FEED_PATH,
        subprotocols=[Subprotocol("makima.bearer"), Subprotocol(token)],
        origin=Origin(server.base),
        proxy=None,
        compression=None,
        ping_interval=None,
        open_timeout=60,
        max_size=max_size,
        user_agent_header=None,
    )


# --- report ---------------------------------------------------------------------------------
@dataclass
class Row:
    part: str
    figure: str
    measured: str
    target: str = ""
    ok: bool | None = None


@dataclass
class Report:
    mode: str
    rows: list[Row] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def add(self, part: str, figure: str, measured: Any, target: str = "", ok=None) -> None:
        self.rows.append(Row(part, figure, str(measured), target, ok))

    def table(self, rows: list[Row] | None = None) -> str:
        rows = self.rows if rows is None else rows
        header = ("part", "figure", "measured", "target", "")
        cells = [header] + [
            (
                r.part,
                r.figure,
                r.measured,
                r.target,
                "" if r.ok is None else ("PASS" if r.ok else "MISS"),
            )
            for r in rows
        ]
        widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
        lines = []
        for index, c in enumerate(cells):
            lines.append("  ".join(c[i].ljust(widths[i]) for i in range(len(header))).rstrip())
            if index == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)


def below(value: float | None, limit: float) -> bool | None:
    return None if value is None else value < limit


@dataclass
class Ctx:
    args: argparse.Namespace
    cluster: h.Cluster
    report: Report
    run_id: str

    def marker(self, kind: str, index: int) -> str:
        return f"bench {kind} {self.run_id} #{index} {uuid.uuid4().hex[:8]}"

    @property
    def redis(self) -> bool:
        return self.cluster.mode == "redis"


# --- building blocks ------------------------------------------------------------------------
async def wait_listed(
    session,
    server: h.Server,
    owners: list[dict],
    tasks: dict[str, asyncio.Task],
    *,
    interval: float,
    timeout: float,
) -> dict[str, str]:
    """Poll the owners' pending lists until every marker's question is listed (marker → id).

    Stops early when every still-missing ask has already returned (it failed: no point
    waiting for it to be listed)."""
    wanted = set(tasks)
    found: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for owner in owners:
            reply = await h.list_pending(session, server, owner["token"])
            if reply.status == 200 and isinstance(reply.body, list):
                for item in reply.body:
                    if item.get("question") in wanted:
                        found[item["question"]] = item["questionId"]
        missing = wanted - found.keys()
        if not missing or all(tasks[m].done() for m in missing):
            break
        await asyncio.sleep(interval)
    return found


def readings(ctx: Ctx) -> dict[str, Any]:
    return ctx.cluster.readings()


async def plain_get(
    session, server: h.Server, token: str | None, n: int, path: str = h.PLAIN_GET_PATH
) -> dict[str, Any]:
    headers = h.owner_headers(token) if token else None
    for _ in range(min(20, n)):
        await h.call(session, "GET", server.base + path, headers=headers, timeout=10)
    samples = []
    errors = 0
    cpu0 = server.reading().cpu_s
    for _ in range(n):
        reply = await h.call(session, "GET", server.base + path, headers=headers, timeout=10)
        if reply.status == 200:
            samples.append(reply.seconds)
        else:
            errors += 1
    cpu_ms = 1000.0 * (server.reading().cpu_s - cpu0) / max(1, n)
    return {
        **h.summary_ms(samples),
        "errors": errors,
        "server_cpu_ms_per_request": round(cpu_ms, 2),
    }


async def wake_samples(
    ctx: Ctx,
    session,
    *,
    ask_on: h.Server,
    answer_on: h.Server,
    owner: dict,
    n: int,
    batch: int = 100,
) -> dict[str, Any]:
    """Answer-request start → blocked ask's return, one answer at a time, n samples.

    Asks are opened in batches (they block: semi-auto directive), found in the owner's list,
    then answered sequentially so each sample is a quiet wake of one waiter."""
    samples: list[float] = []
    errors: list[str] = []
    answer_samples: list[float] = []
    after_answer: list[float] = []
    done = 0
    while done < n:
        size = min(batch, n - done)
        markers = [ctx.marker("wake", done + i) for i in range(size)]
        tasks = {
            m: asyncio.create_task(
                h.ask(session, ask_on, owner["tasks"][i % len(owner["tasks"])]["key"], m)
            )
            for i, m in enumerate(markers)
        }
        ids = await wait_listed(session, ask_on, [owner], tasks, interval=0.02, timeout=60)
        await asyncio.sleep(0.2)  # every waiter is now parked on its future
        for m in markers:
            if m not in ids:
                early = await tasks[m] if tasks[m].done() else None
                errors.append(f"not listed: ask {early.status if early else 'pending'}")
                tasks[m].cancel()
                continue
            response = f"answer to {m}"
            t0 = time.perf_counter()
            ans = await h.answer(session, answer_on, owner["token"], ids[m], response)
            answered_at = time.perf_counter()
            try:
                reply = await asyncio.wait_for(tasks[m], timeout=30)
            except TimeoutError:
                errors.append("ask not woken within 30 s")
                continue
            if ans.status != 200:
                errors.append(f"answer {ans.status}")
                continue
            answer_samples.append(ans.seconds)
            if reply.status != 200 or not isinstance(reply.body, dict):
                errors.append(f"ask {reply.status} {reply.error}")
            elif reply.body.get("response") != response:
                errors.append("ask returned a different response")
            else:
                samples.append(reply.finished - t0)
                # > 0: the ask returned after the answer's own response arrived.
                after_answer.append(reply.finished - answered_at)
        done += size
    return {
        **h.summary_ms(samples),
        "answer_request": h.summary_ms(answer_samples),
        "ask_return_minus_answer_response": h.summary_ms(after_answer),
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:5],
    }


# --- part: wake -----------------------------------------------------------------------------
async def part_wake(ctx: Ctx) -> None:
    c = ctx.cluster
    n = ctx.args.samples
    c.migrate()
    owner = c.fixtures([{"name": "wake", "owners": 1, "tasks_per_owner": 4, "mode": "semi-auto"}])[
        "wake"
    ][0]
    await c.start(h.LONG_WAITS, h.UNTHROTTLED_ENV)
    a, b = c.servers[0], c.servers[-1]
    data: dict[str, Any] = {}
    async with h.new_session() as session:
        await wake_samples(ctx, session, ask_on=a, answer_on=a, owner=owner, n=20)  # warm-up
        data["plain_get"] = await plain_get(session, a, owner["token"], n)
        # Few samples: in the Redis mode a /healthz can take its 3 s layer timeout.
        # Skipped in the Redis mode: there most /healthz calls wait out the 3 s layer check.
        if not ctx.redis:
            data["healthz"] = await plain_get(session, a, None, min(n, 50), "/healthz")
        data["wake_one_process"] = await wake_samples(
            ctx, session, ask_on=a, answer_on=a, owner=owner, n=n
        )
        if ctx.redis:
            data["wake_two_processes"] = await wake_samples(
                ctx, session, ask_on=a, answer_on=b, owner=owner, n=n
            )
    ctx.report.data["wake"] = data
    get = data["plain_get"]
    ctx.report.add(
        "wake",
        f"plain GET {h.PLAIN_GET_PATH} (token)",
        h.lat(get) + f"; server CPU {get['server_cpu_ms_per_request']} ms/request",
    )
    hz = data.get("healthz")
    if hz:
        ctx.report.add(
            "wake",
            "  (for scale: GET /healthz, no auth; DB + layer check)",
            h.lat(hz) + (f"; {hz['errors']} not 200" if hz["errors"] else ""),
        )
    runs = [("wake_one_process", "one process", 20.0)]
    if ctx.redis:
        runs.append(("wake_two_processes", "ask on A, answer on B (Redis)", 50.0))
    for key, label, limit in runs:
        w = data[key]
        ctx.report.add(
            "wake",
            f"wake latency, {label}",
            h.lat(w),
            f"p99 < {limit:.0f} ms",
            below(w["p99_ms"], limit),
        )
        if get["p50_ms"] and w["p50_ms"] is not None:
            ratio = (
                f"p50 x{w['p50_ms'] / get['p50_ms']:.2f}, p99 x{w['p99_ms'] / get['p99_ms']:.2f}"
            )
            ctx.report.add("wake", f"  ratio to plain GET, {label}", ratio)
        ctx.report.add("wake", "  of which the answer request itself", h.lat(w["answer_request"]))
        ctx.report.add("wake", f"  errors, {label}", w["errors"], "0", w["errors"] == 0)


# --- part: waiters --------------------------------------------------------------------------
async def part_waiters(ctx: Ctx) -> None:
    c = ctx.cluster
    n = ctx.args.waiters
    owners_n, tasks_n = 10, 10
    c.migrate()
    owners = c.fixtures(
        [{"name": "waiters", "owners": owners_n, "tasks_per_owner": tasks_n, "mode": "semi-auto"}]
    )["waiters"]
    await c.start(h.LONG_WAITS, h.UNTHROTTLED_ENV)
    a, b = c.servers[0], c.servers[-1]
    data: dict[str, Any] = {"n": n, "waiters_on": a.name, "answers_on": b.name}
    errors: list[str] = []
    async with h.new_session() as session:
        # Warm-up with 100 concurrent asks, so the worker pools have grown before "before".
        await wake_samples(ctx, session, ask_on=a, answer_on=b, owner=owners[0], n=100)
        await asyncio.sleep(1)
        data["before"] = readings(ctx)
        data["layer_keys_before"] = await c.layer_keys()

        markers: list[str] = []
        tasks: dict[str, asyncio.Task] = {}
        owner_of: dict[str, dict] = {}
        t_ramp = time.perf_counter()
        for i in range(n):
            owner = owners[i % owners_n]
            key = owner["tasks"][(i // owners_n) % tasks_n]["key"]
            m = ctx.marker("waiter", i)
            markers.append(m)
            owner_of[m] = owner
            tasks[m] = asyncio.create_task(h.ask(session, a, key, m))
            if i % 250 == 249:
                await asyncio.sleep(0.05)
        ids = await wait_listed(session, a, owners, tasks, interval=1.0, timeout=max(120.0, n / 20))
        data["ramp_s"] = round(time.perf_counter() - t_ramp, 2)
        print(f"  {len(ids)}/{n} asks blocked after {data['ramp_s']} s", flush=True)
        early = [m for m in markers if tasks[m].done()]
        for m in early:
            reply = tasks[m].result()
            errors.append(f"ask returned before any answer: {reply.status} {reply.error}")
        data["listed"] = len(ids)
        # The last asks' first row reads may still be queued in the worker pool when the
        # rows are listed: wait until A's CPU has settled (1 s windows), at most 60 s.
        settle_t0 = time.perf_counter()
        while time.perf_counter() - settle_t0 < 60:
            if (await h.cpu_percent([a.pid], 1.0))[a.pid] < 10:
                break
        data["settle_s"] = round(time.perf_counter() - settle_t0, 1)
        data["during"] = readings(ctx)
        data["layer_keys_during"] = await c.layer_keys()
        cpu = await h.cpu_percent([s.pid for s in c.servers], 5.0)
        data["idle_cpu_percent"] = {s.name: cpu[s.pid] for s in c.servers}
        data["during_after_idle"] = readings(ctx)
        if ctx.args.hold:
            pids = ", ".join(f"{srv.name}={srv.pid}" for srv in c.servers)
            print(f"  holding {len(ids)} waiters for {ctx.args.hold} s (pids {pids})", flush=True)
            await asyncio.sleep(ctx.args.hold)

        sem = asyncio.Semaphore(32)
        answers: dict[str, h.Reply] = {}

        async def give(m: str) -> None:
            async with sem:
                answers[m] = await h.answer(
                    session, b, owner_of[m]["token"], ids[m], f"answer to {m}"
                )

        t_answer = time.perf_counter()
        await asyncio.gather(*(give(m) for m in markers if m in ids))
        data["answer_all_s"] = round(time.perf_counter() - t_answer, 2)
        pending = [t for t in tasks.values() if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=120)
        delivered = 0
        last_return = t_answer
        for m in markers:
            task = tasks[m]
            if not task.done():
                errors.append("ask still blocked 120 s after its answer")
                task.cancel()
                continue
            if m in early:
                continue
            reply = task.result()
            last_return = max(last_return, reply.finished)
            if m not in ids:
                errors.append(f"never listed: ask {reply.status} {reply.error}")
            elif answers.get(m) is None or answers[m].status != 200:
                errors.append(f"answer {answers[m].status if m in answers else 'missing'}")
            elif reply.status != 200 or not isinstance(reply.body, dict):
                errors.append(f"ask {reply.status} {reply.error}")
            elif reply.body.get("response") != f"answer to {m}":
                errors.append("ask returned a different response")
            else:
                delivered += 1
        data["delivered"] = delivered
        data["all_delivered_s"] = round(last_return - t_answer, 2)
        answer_times = [r.seconds for r in answers.values() if r.status == 200]
        data["answer_request"] = h.summary_ms(answer_times)
    await asyncio.sleep(3)
    data["after"] = readings(ctx)
    data["layer_keys_after"] = await c.layer_keys()
    data["errors"] = len(errors)
    data["error_examples"] = sorted(set(errors))[:8]
    data["server_log_errors"] = {s.name: s.log_error_count() for s in c.servers}
    ctx.report.data["waiters"] = data

    r = ctx.report
    name = a.name
    before, during, after = data["before"][name], data["during"][name], data["after"][name]
    r.add("waiters", f"{n} blocked asks on {name}: listed / delivered", f"{len(ids)} / {delivered}")
    r.add("waiters", "  errors", data["errors"], "0", data["errors"] == 0)
    r.add("waiters", "  time to open all (ramp)", f"{data['ramp_s']} s")
    r.add(
        "waiters",
        "  answer all / all asks returned",
        f"{data['answer_all_s']} s / {data['all_delivered_s']} s",
    )
    r.add(
        "waiters",
        f"  RSS {name} before/during/after",
        f"{before['rss_mb']} / {during['rss_mb']} / {after['rss_mb']} MB",
        "< 400 MB (target set for 5,000)",
        during["rss_mb"] < 400,
    )
    r.add(
        "waiters",
        f"  threads {name} before/during/after",
        f"{before['threads']} / {during['threads']} / {after['threads']}",
        "independent of N (during <= before + 2)",
        during["threads"] <= before["threads"] + 2,
    )
    r.add(
        "waiters",
        f"  open fds {name} before/during/after",
        f"{before['fds']} / {during['fds']} / {after['fds']}",
    )
    cpu_a = data["idle_cpu_percent"][name]
    r.add(
        "waiters",
        f"  idle CPU {name} with {n} waiting (5 s)",
        f"{cpu_a}% of a core (settled after {data['settle_s']} s)",
        "< 5%",
        cpu_a < 5,
    )
    if ctx.redis:
        r.add(
            "waiters",
            f"  idle CPU {b.name} (answers) meanwhile",
            f"{data['idle_cpu_percent'][b.name]}% of a core",
        )
        pg = data["during"]["pg_connections"]
        bound = h.POOL_SIZE * c.process_count
        r.add(
            "waiters",
            "  PostgreSQL connections before/during/after",
            f"{data['before']['pg_connections']} / {pg} / {data['after']['pg_connections']}",
            f"<= pool size ({h.POOL_SIZE}/process, {bound} for {c.process_count})",
            pg <= bound,
        )
        keys = (data["layer_keys_before"], data["layer_keys_during"], data["layer_keys_after"])
        r.add(
            "waiters",
            "  channel-layer keys before/during/after",
            " / ".join(str(k["prefix_keys"]) for k in keys),
        )


# --- part: leak -----------------------------------------------------------------------------
async def part_leak(ctx: Ctx) -> None:
    c = ctx.cluster
    total = ctx.args.leak
    c.migrate()
    groups = c.fixtures(
        [
            {"name": "leak-auto", "owners": 1, "tasks_per_owner": 10, "mode": "auto"},
            {"name": "leak-drop", "owners": 1, "tasks_per_owner": 10, "mode": "semi-auto"},
        ]
    )
    auto_keys = [t["key"] for t in groups["leak-auto"][0]["tasks"]]
    drop_keys = [t["key"] for t in groups["leak-drop"][0]["tasks"]]
    await c.start(h.LEAK_WAITS, h.UNTHROTTLED_ENV)
    a, b = c.servers[0], c.servers[-1]
    auto_timeout = h.LEAK_WAITS["MESH_AUTO_TIMEOUT_SECONDS"]
    counts = {"timed_out_408": 0, "dropped": 0}
    errors: list[str] = []

    async def wave(count: int, concurrency: int) -> float:
        sem = asyncio.Semaphore(concurrency)
        async with h.new_session(force_close=True) as session:

            async def timed_out(i: int) -> None:
                async with sem:
                    reply = await h.ask(
                        session, a, auto_keys[i % 10], ctx.marker("leak-auto", i), timeout=120
                    )
                if (
                    reply.status == 408
                    and isinstance(reply.body, dict)
                    and reply.body.get("timedOut")
                ):
                    counts["timed_out_408"] += 1
                else:
                    errors.append(f"auto ask: {reply.status} {reply.error}")

            async def dropped(i: int) -> None:
                async with sem:
                    task = asyncio.create_task(
                        h.ask(session, b, drop_keys[i % 10], ctx.marker("leak-drop", i))
                    )
                    await asyncio.sleep(random.uniform(0.2, 0.9))
                    if task.done():
                        errors.append(f"dropped ask returned early: {task.result().status}")
                        return
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                    counts["dropped"] += 1

            t0 = time.perf_counter()
            await asyncio.gather(
                *((timed_out(i) if i % 2 == 0 else dropped(i)) for i in range(count))
            )
            return time.perf_counter() - t0

    # Warm-up at the same concurrency: the first burst grows the allocator's arenas, pools
    # and caches to their working size (measured: +12% in the first round, then flat).
    await wave(min(2000, total), 1000)
    await asyncio.sleep(3)
    before = readings(ctx)
    keys_before = await c.layer_keys()
    counts.update({"timed_out_408": 0, "dropped": 0})
    errors.clear()
    rounds: list[dict[str, Any]] = []
    seconds = 0.0
    for _ in range(max(1, ctx.args.leak_rounds)):
        seconds += await wave(total, 1000)
        await asyncio.sleep(max(3.0, auto_timeout + 2))
        rounds.append(readings(ctx))
    after = rounds[-1]
    keys_after = await c.layer_keys()
    data = {
        "asks": total,
        "rounds": len(rounds),
        "after_each_round": rounds,
        "seconds": round(seconds, 1),
        **counts,
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:8],
        "before": before,
        "after": after,
        "layer_keys_before": keys_before,
        "layer_keys_after": keys_after,
        "server_log_errors": {s.name: s.log_error_count() for s in c.servers},
    }
    ctx.report.data["leak"] = data
    r = ctx.report
    rounds_note = "" if len(rounds) == 1 else f" x {len(rounds)} rounds"
    r.add(
        "leak",
        f"{total} asks{rounds_note}: auto timeouts (408) on {a.name} / disconnects on {b.name}",
        f"{counts['timed_out_408']} / {counts['dropped']} in {data['seconds']} s",
    )
    r.add("leak", "  errors", data["errors"], "0", data["errors"] == 0)
    for s in c.servers:
        rb, ra = before[s.name], after[s.name]
        growth = 100.0 * (ra["rss_mb"] - rb["rss_mb"]) / rb["rss_mb"]
        per_round = " / ".join(str(x[s.name]["rss_mb"]) for x in rounds)
        r.add(
            "leak",
            f"  RSS {s.name} before / after each round",
            f"{rb['rss_mb']} / {per_round} MB ({growth:+.1f}%)",
            "flat (< +10%)",
            growth < 10,
        )
        r.add(
            "leak",
            f"  threads / open fds {s.name} before/after",
            f"{rb['threads']}/{rb['fds']} -> {ra['threads']}/{ra['fds']}",
            "unchanged",
            ra["threads"] <= rb["threads"] + 2 and ra["fds"] <= rb["fds"] + 2,
        )
    if keys_before is not None and keys_after is not None:
        r.add(
            "leak",
            "  channel-layer keys before/after",
            f"{keys_before['prefix_keys']} / {keys_after['prefix_keys']} "
            f"(DBSIZE {keys_before['dbsize']} / {keys_after['dbsize']})",
            "unchanged",
            keys_after["prefix_keys"] <= keys_before["prefix_keys"],
        )
        r.add(
            "leak",
            "  PostgreSQL connections before/after",
            f"{before['pg_connections']} / {after['pg_connections']}",
            f"<= {h.POOL_SIZE * c.process_count}",
            after["pg_connections"] <= h.POOL_SIZE * c.process_count,
        )


# --- part: push -----------------------------------------------------------------------------
class Feed:
    """The owners' websockets: 10 per owner, recording when each question.asked arrives."""

    def __init__(self) -> None:
        self.arrivals: dict[str, list[float]] = {}
        self.marker_owner: dict[str, int] = {}
        self.wrong_owner = 0
        self.bad_frames = 0
        self.sockets: list[Any] = []
        self.readers: list[asyncio.Task] = []
        self.events: dict[str, asyncio.Event] = {}
        self.expected_per_marker = 0

    async def open(self, server: h.Server, owners: list[dict], per_owner: int) -> list[str]:
        errors: list[str] = []
        sem = asyncio.Semaphore(50)
        self.expected_per_marker = per_owner

        async def one(owner_index: int, token: str) -> None:
            async with sem:
                try:
                    ws = await feed_connect(server, token, max_size=2**24)
                    first = json.loads(await asyncio.wait_for(ws.recv(), timeout=60))
                except Exception as exc:  # noqa: BLE001 - reported as a figure
                    errors.append(f"connect: {type(exc).__name__}: {exc}"[:200])
                    return
                if first.get("type") != "snapshot":
                    errors.append(f"first frame {first.get('type')!r}, not snapshot")
                self.sockets.append(ws)
                self.readers.append(asyncio.create_task(self.read(ws, owner_index)))

        await asyncio.gather(
            *(one(i, o["token"]) for i, o in enumerate(owners) for _ in range(per_owner))
        )
        return errors

    async def read(self, ws, owner_index: int) -> None:
        with contextlib.suppress(Exception):
            async for raw in ws:
                now = time.perf_counter()
                try:
                    frame = json.loads(raw)
                except ValueError:
                    self.bad_frames += 1
                    continue
                if frame.get("type") != "question.asked":
                    continue
                marker = frame.get("question", {}).get("question")
                if marker not in self.marker_owner:
                    continue
                if self.marker_owner[marker] != owner_index:
                    self.wrong_owner += 1
                    continue
                self.arrivals.setdefault(marker, []).append(now)
                if len(self.arrivals[marker]) >= self.expected_per_marker:
                    self.events[marker].set()

    async def close(self) -> None:
        for task in self.readers:
            task.cancel()
        await asyncio.gather(
            *(ws.close() for ws in self.sockets), *self.readers, return_exceptions=True
        )


async def push_samples(
    ctx: Ctx, session, feed: Feed, *, ask_on: h.Server, owners: list[dict], n: int
) -> dict[str, Any]:
    all_arrivals: list[float] = []
    last_arrivals: list[float] = []
    missing = 0
    ask_errors = 0
    ask_times: list[float] = []
    for i in range(n):
        owner_index = i % len(owners)
        owner = owners[owner_index]
        m = ctx.marker("push", i)
        feed.marker_owner[m] = owner_index
        feed.events[m] = asyncio.Event()
        t0 = time.perf_counter()
        reply = await h.ask(session, ask_on, owner["tasks"][0]["key"], m, non_blocking=True)
        if reply.status != 200:
            ask_errors += 1
        else:
            ask_times.append(reply.seconds)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(feed.events[m].wait(), timeout=5)
        got = feed.arrivals.get(m, [])
        missing += feed.expected_per_marker - len(got)
        all_arrivals.extend(t - t0 for t in got)
        if got:
            last_arrivals.append(max(got) - t0)
        await asyncio.sleep(0.01)
    return {
        **h.summary_ms(all_arrivals),
        "last_socket_of_owner": h.summary_ms(last_arrivals),
        "ask_request": h.summary_ms(ask_times),
        "asks": n,
        "missing_frames": missing,
        "ask_errors": ask_errors,
    }


async def part_push(ctx: Ctx) -> None:
    c = ctx.cluster
    owners_n, per_owner, n = ctx.args.owners, ctx.args.sockets_per_owner, ctx.args.samples
    c.migrate()
    owners = c.fixtures(
        [{"name": "push", "owners": owners_n, "tasks_per_owner": 1, "mode": "semi-auto"}]
    )["push"]
    await c.start(h.LONG_WAITS, h.UNTHROTTLED_ENV)
    a, s = c.servers[0], c.servers[-1]  # asks on A; sockets on S (= B with Redis)
    data: dict[str, Any] = {"sockets_on": s.name, "owners": owners_n, "per_owner": per_owner}
    feed = Feed()
    async with h.new_session() as session:
        for i in range(min(20, len(owners))):  # warm-up
            await h.ask(
                session, s, owners[i]["tasks"][0]["key"], ctx.marker("warm", i), non_blocking=True
            )
        await asyncio.sleep(1)
        data["before_sockets"] = readings(ctx)
        t0 = time.perf_counter()
        connect_errors = await feed.open(s, owners, per_owner)
        data["connect_s"] = round(time.perf_counter() - t0, 2)
        data["sockets_open"] = len(feed.sockets)
        data["connect_errors"] = len(connect_errors)
        data["connect_error_examples"] = sorted(set(connect_errors))[:5]
        await asyncio.sleep(2)
        data["with_sockets"] = readings(ctx)
        try:
            data["push_one_process"] = await push_samples(
                ctx, session, feed, ask_on=s, owners=owners, n=n
            )
            if ctx.redis:
                data["push_two_processes"] = await push_samples(
                    ctx, session, feed, ask_on=a, owners=owners, n=n
                )
            data["with_sockets_end"] = readings(ctx)
        finally:
            await feed.close()
    data["wrong_owner_frames"] = feed.wrong_owner
    data["server_log_errors"] = {srv.name: srv.log_error_count() for srv in c.servers}
    ctx.report.data["push"] = data
    r = ctx.report
    total = owners_n * per_owner
    r.add(
        "push",
        f"sockets open ({owners_n} owners x {per_owner}) on {s.name}",
        f"{len(feed.sockets)}/{total} in {data['connect_s']} s",
        f"{total}, 0 errors",
        len(feed.sockets) == total and not connect_errors,
    )
    before, with_s = data["before_sockets"][s.name], data["with_sockets"][s.name]
    r.add(
        "push",
        f"  RSS {s.name} without / with {total} sockets",
        f"{before['rss_mb']} / {with_s['rss_mb']} MB",
        "< 300 MB",
        with_s["rss_mb"] < 300,
    )
    r.add(
        "push",
        f"  threads {s.name} without / with sockets",
        f"{before['threads']} / {with_s['threads']}",
    )
    runs = [("push_one_process", f"ask and sockets on {s.name}")]
    if ctx.redis:
        runs.append(("push_two_processes", f"ask on {a.name}, sockets on {s.name} (Redis)"))
    for key, label in runs:
        p = data[key]
        r.add(
            "push",
            f"push latency, {label}",
            h.lat(p),
            "p99 < 50 ms",
            below(p["p99_ms"], 50.0),
        )
        r.add("push", "  last of the owner's sockets", h.lat(p["last_socket_of_owner"]))
        r.add("push", "  the ask request itself (non-blocking)", h.lat(p["ask_request"]))
        r.add(
            "push",
            "  frames missing / ask errors",
            f"{p['missing_frames']} / {p['ask_errors']}",
            "0 / 0",
            p["missing_frames"] == 0 and p["ask_errors"] == 0,
        )
    r.add(
        "push", "  frames on another owner's socket", feed.wrong_owner, "0", feed.wrong_owner == 0
    )


# --- part: lists ----------------------------------------------------------------------------
LIST_TASKS = 200  # the pending questions of each size are spread over this many tasks
LIST_TARGET_SIZE = 20000  # the size the two targets below are set for
LIST_P50_TARGET_MS = 50.0
SNAPSHOT_MAX_BYTES = 256 * 1024


def size_text(n: int) -> str:
    return f"{n:,} B ({n / 1024:.1f} KiB)"


async def list_samples(session, server: h.Server, token: str, n: int) -> dict[str, Any]:
    """n sequential GETs of the owner's pending list on one kept-alive connection: latency
    to the last body byte, the server's CPU per request, and the response's byte size, item
    count and X-Total-Count header (the last successful response's)."""
    url = server.base + h.LIST_PATH
    headers = h.owner_headers(token)
    samples: list[float] = []
    errors: list[str] = []
    shape: dict[str, Any] = {}
    cpu0 = server.reading().cpu_s
    for _ in range(n):
        t0 = time.perf_counter()
        try:
            async with session.get(
                url, headers=headers, timeout=aiohttp.ClientTimeout(total=120)
            ) as resp:
                raw = await resp.read()
                elapsed = time.perf_counter() - t0
                status = resp.status
                total = resp.headers.get("X-Total-Count")
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            errors.append(f"{type(exc).__name__}: {exc}"[:200])
            continue
        if status != 200:
            errors.append(f"HTTP {status}")
            continue
        samples.append(elapsed)
        # Parsed after the clock stopped: the client's JSON decoding is not the server's time.
        body = json.loads(raw)
        shape = {
            "bytes": len(raw),
            "bare_array": isinstance(body, list),
            "items": len(body) if isinstance(body, list) else None,
            "x_total_count": total,
        }
    cpu_ms = 1000.0 * (server.reading().cpu_s - cpu0) / max(1, n)
    return {
        **h.summary_ms(samples),
        **shape,
        "server_cpu_ms_per_request": round(cpu_ms, 2),
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:5],
    }


async def snapshot_samples(server: h.Server, token: str, n: int) -> dict[str, Any]:
    """n fresh feed sockets, one after the other: start of the connect → the first frame
    (the snapshot) fully received, the part of it after the handshake, and the frame's byte
    size (permessage-deflate off, so this is what goes over the wire), items and total."""
    samples: list[float] = []
    after_open: list[float] = []
    errors: list[str] = []
    shape: dict[str, Any] = {}
    for _ in range(n):
        t0 = time.perf_counter()
        try:
            # No client-side cap: an oversized snapshot is the figure, not an error.
            async with feed_connect(server, token, max_size=None) as ws:
                opened = time.perf_counter()
                raw = await asyncio.wait_for(ws.recv(decode=False), timeout=120)
                received = time.perf_counter()
        except Exception as exc:  # noqa: BLE001 - reported as a figure
            errors.append(f"{type(exc).__name__}: {exc}"[:200])
            continue
        frame = json.loads(raw)
        if not isinstance(frame, dict) or frame.get("type") != "snapshot":
            kind = frame.get("type") if isinstance(frame, dict) else type(frame).__name__
            errors.append(f"first frame {kind!r}, not snapshot")
            continue
        samples.append(received - t0)
        after_open.append(received - opened)
        questions = frame.get("questions")
        shape = {
            "bytes": max(len(raw), shape.get("bytes", 0)),
            "items": len(questions) if isinstance(questions, list) else None,
            "total": frame.get("total"),
        }
    return {
        **h.summary_ms(samples),
        "after_handshake": h.summary_ms(after_open),
        **shape,
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:5],
    }


async def part_lists(ctx: Ctx) -> None:
    """The owner's pending list and the feed's snapshot with many questions pending. Each
    size gets its own owner and fresh servers (like each part), so one size's caches and
    allocations don't colour the next."""
    c = ctx.cluster
    c.migrate()
    sizes: dict[str, Any] = {}
    ctx.report.data["lists"] = {"tasks": LIST_TASKS, "sizes": sizes}
    for size in ctx.args.list_sizes:
        name = f"lists-{size}"
        t0 = time.perf_counter()
        owner = c.fixtures(
            [
                {
                    "name": name,
                    "owners": 1,
                    "tasks_per_owner": LIST_TASKS,
                    "mode": "semi-auto",
                    "pending_questions": size,
                }
            ]
        )[name][0]
        fixtures_s = round(time.perf_counter() - t0, 1)
        print(
            f"  {size} pending questions: fixtures in {fixtures_s} s "
            f"(bulk insert {owner['pending_questions_s']} s)",
            flush=True,
        )
        await c.start(h.LONG_WAITS, h.UNTHROTTLED_ENV)
        a = c.servers[0]
        data: dict[str, Any] = {
            "pending": size,
            "fixtures_s": fixtures_s,
            "bulk_insert_s": owner["pending_questions_s"],
        }
        sizes[str(size)] = data
        async with h.new_session() as session:
            await list_samples(session, a, owner["token"], min(3, ctx.args.list_samples))
            await snapshot_samples(a, owner["token"], 1)
            await asyncio.sleep(1)
            data["before"] = readings(ctx)
            data["list"] = await list_samples(session, a, owner["token"], ctx.args.list_samples)
            data["snapshot"] = await snapshot_samples(a, owner["token"], ctx.args.snapshot_samples)
        await asyncio.sleep(1)
        data["after"] = readings(ctx)
        data["server_log_errors"] = {s.name: s.log_error_count() for s in c.servers}
        report_list_size(ctx, a, data)


def report_list_size(ctx: Ctx, a: h.Server, data: dict[str, Any]) -> None:
    r = ctx.report
    size = data["pending"]
    at_target = size >= LIST_TARGET_SIZE
    lst, snap = data["list"], data["snapshot"]
    p50 = lst["p50_ms"]
    r.add(
        "lists",
        f"GET {h.LIST_PATH}, {size} pending ({LIST_TASKS} tasks of 1 owner)",
        h.lat(lst) + f"; server CPU {lst['server_cpu_ms_per_request']} ms/request",
        f"p50 <= {LIST_P50_TARGET_MS:.0f} ms at {LIST_TARGET_SIZE:,}" if at_target else "",
        (p50 is not None and p50 <= LIST_P50_TARGET_MS) if at_target else None,
    )
    total = lst.get("x_total_count")
    items = lst.get("items")
    r.add(
        "lists",
        "  response: bytes / items / X-Total-Count",
        f"{size_text(lst['bytes']) if 'bytes' in lst else 'n/a'} / "
        f"{items if items is not None else 'not a bare array'} / "
        f"{total if total is not None else 'absent'}",
        f"X-Total-Count = {size} when sent",
        None if total is None else total == str(size),
    )
    r.add(
        "lists",
        f"feed snapshot, {size} pending: connect -> first frame",
        h.lat(snap),
    )
    r.add("lists", "  of which after the handshake", h.lat(snap["after_handshake"]))
    nbytes = snap.get("bytes")
    r.add(
        "lists",
        "  snapshot frame: bytes / items",
        f"{size_text(nbytes) if nbytes is not None else 'n/a'} / {snap.get('items', 'n/a')}",
        f"<= 256 KiB at {LIST_TARGET_SIZE:,}" if at_target else "",
        (nbytes is not None and nbytes <= SNAPSHOT_MAX_BYTES) if at_target else None,
    )
    snap_total = snap.get("total")
    r.add(
        "lists",
        '  snapshot "total"',
        "absent" if snap_total is None else snap_total,
        f"= {size} when sent",
        None if snap_total is None else snap_total == size,
    )
    r.add(
        "lists",
        "  errors: list / snapshot",
        f"{lst['errors']} / {snap['errors']}",
        "0 / 0",
        lst["errors"] == 0 and snap["errors"] == 0,
    )
    before, after = data["before"][a.name], data["after"][a.name]
    r.add("lists", f"  RSS {a.name} before / after", f"{before['rss_mb']} / {after['rss_mb']} MB")
    r.add(
        "lists",
        f"  fixtures: {size} questions bulk-inserted / whole fixture",
        f"{data['bulk_insert_s']} s / {data['fixtures_s']} s",
    )


# --- part: soak -----------------------------------------------------------------------------
async def part_soak(ctx: Ctx) -> None:
    from bench.soak import run_soak

    await run_soak(ctx)


async def part_throughput(ctx: Ctx) -> None:
    """One daphne at 1/8/32 connections next to one gunicorn sync worker at 1/8, per
    endpoint and database, cells interleaved (bench/throughput.py)."""
    args, report = ctx.args, ctx.report
    cells: list[tp.Cell] = []
    for target in tp.targets_for(
        ctx.cluster.env,
        ctx.cluster.workdir,
        args.port_base,
        ctx.run_id,
        args.tp_before,
        args.tp_before_env,
    ):
        print(f"  {target.db}: fixtures ({args.tp_answers} questions to answer) ...", flush=True)
        await asyncio.to_thread(target.prepare, args.tp_answers)
        try:
            await target.start()
            for endpoint in args.tp_endpoints:
                for server in target.servers:  # warm-up, not counted
                    await target.run_wrk(server, endpoint, 8, 2)
                profiled: set[str] = set()
                for server, connections in tp.cell_order(
                    args.tp_rounds, args.tp_before is not None
                ):
                    profile = None
                    if (
                        args.py_spy
                        and endpoint == "get_list"
                        and server.startswith("daphne")
                        and connections == 8
                        and server not in profiled
                    ):
                        args.py_spy.mkdir(parents=True, exist_ok=True)
                        profile = args.py_spy / f"{target.db}-{server}-c8-{ctx.run_id}.txt"
                        profiled.add(server)
                    cell = await target.run_wrk(
                        server, endpoint, connections, args.tp_seconds, profile
                    )
                    cells.append(cell)
                    print(
                        f"  {target.db:10} {endpoint:8} {server:8} c={connections:<3} "
                        f"{cell.rps:8.1f} req/s  p50 {cell.p50_ms} ms  p99 {cell.p99_ms} ms  "
                        f"cpu {cell.cpu_ms} ms/req  "
                        f"non-2xx {cell.non_2xx}  socket errors {cell.socket_errors}",
                        flush=True,
                    )
            for process in target.servers.values():
                # (gunicorn's log: a2wsgi's bridge logs the waiting endpoint's tasks it
                # drops after the reply; not this project's errors.)
                errors = 0 if process.name == "gunicorn" else process.log_error_count()
                if errors:
                    report.add(
                        "throughput",
                        f"  {target.db} {process.name} log ERROR lines",
                        errors,
                        "0",
                        False,
                    )
        finally:
            await target.stop()
            if target.db == "postgresql":
                await asyncio.to_thread(target.cleanup)
    report.data["throughput"] = [cell.__dict__ for cell in cells]
    report_throughput(report, cells)


def report_throughput(report: Report, cells: list[tp.Cell]) -> None:
    def mean(db: str, endpoint: str, server: str, connections: int) -> float | None:
        rates = [
            c.rps
            for c in cells
            if (c.db, c.endpoint, c.server, c.connections) == (db, endpoint, server, connections)
        ]
        return sum(rates) / len(rates) if rates else None

    def cpu(db: str, endpoint: str, server: str) -> str:
        costs = [
            c.cpu_ms
            for c in cells
            if (c.db, c.endpoint, c.server) == (db, endpoint, server) and c.cpu_ms is not None
        ]
        return f"{sum(costs) / len(costs):.1f}" if costs else "?"

    for db in dict.fromkeys(c.db for c in cells):
        for endpoint in dict.fromkeys(c.endpoint for c in cells if c.db == db):
            label = f"{db}: {tp.ENDPOINT_TEXT[endpoint]}"
            g = {n: mean(db, endpoint, "gunicorn", n) for n in tp.GUNICORN_CONNECTIONS}
            d = {n: mean(db, endpoint, "daphne", n) for n in tp.DAPHNE_CONNECTIONS}
            bad = sum(
                c.non_2xx + c.socket_errors for c in cells if (c.db, c.endpoint) == (db, endpoint)
            )
            report.add(
                "throughput",
                label,
                "gunicorn "
                + " / ".join(f"c{n} {v:.0f}" for n, v in g.items() if v)
                + "; daphne "
                + " / ".join(f"c{n} {v:.0f}" for n, v in d.items() if v)
                + f" req/s; non-2xx+socket errors {bad}",
            )
            report.add(
                "throughput",
                "  server CPU per request, ms (mean of all cells)",
                " / ".join(
                    f"{server} {cpu(db, endpoint, server)}"
                    for server in ("daphne", "daphne-before", "gunicorn")
                    if cpu(db, endpoint, server) != "?"
                ),
            )
            before = {n: mean(db, endpoint, "daphne-before", n) for n in tp.DAPHNE_CONNECTIONS}
            if any(before.values()):
                report.add(
                    "throughput",
                    "  daphne before (--tp-before), and after / before",
                    " / ".join(
                        f"c{n} {v:.0f} ({(d[n] or 0) / v:.2f}x)"
                        for n, v in before.items()
                        if v and d.get(n)
                    ),
                )
            best_g = max((v for v in g.values() if v), default=None)
            one = d.get(1)
            for n in (8, 32):
                value = d.get(n)
                if value is None or one is None or best_g is None:
                    continue
                report.add(
                    "throughput",
                    f"  daphne c{n} / daphne c1, / gunicorn best",
                    f"{value / one:.2f}x, {value / best_g:.2f}x",
                    ">= 1.00x, >= 0.80x",
                    value >= one and value >= 0.8 * best_g,
                )


PART_FUNCS: dict[str, Callable[[Ctx], Awaitable[None]]] = {
    "wake": part_wake,
    "waiters": part_waiters,
    "leak": part_leak,
    "push": part_push,
    "lists": part_lists,
    "soak": part_soak,
    "webhooks": part_webhooks,
    "throughput": part_throughput,
}


# --- main -----------------------------------------------------------------------------------
def sizes_list(text: str) -> list[int]:
    """'0,2000,20000' -> [0, 2000, 20000] (for argparse)."""
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of integers: {text!r}"
        ) from None
    if not sizes or any(size < 0 for size in sizes):
        raise argparse.ArgumentTypeError(f"need one or more sizes >= 0: {text!r}")
    return sizes


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Makima mesh benchmarks (bench/README.md)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "parts",
        nargs="*",
        metavar="PART",
        help=f"parts to run, of {', '.join(PARTS)} "
        f"(default: {' '.join(DEFAULT_PARTS)}; soak only when named)",
    )
    parser.add_argument("--soak", action="store_true", help="run the soak (same as `soak`)")
    parser.add_argument(
        "--mode",
        choices=["auto", "embedded", "redis"],
        default="auto",
        help="auto: redis when DATABASE_URL and REDIS_URL are set, else embedded",
    )
    parser.add_argument("--port-base", type=int, default=8150, help="A on this port, B on +1")
    parser.add_argument("--samples", type=int, default=300, help="latency samples per figure")
    parser.add_argument("--waiters", type=int, default=1000, help="concurrent blocked asks")
    parser.add_argument(
        "--hold", type=float, default=0, help="waiters: keep them blocked this long (profiling)"
    )
    parser.add_argument("--leak", type=int, default=10000, help="asks in the leak check")
    parser.add_argument(
        "--leak-rounds", type=int, default=1, help="repeat the leak asks (growth per round)"
    )
    parser.add_argument("--owners", type=int, default=100, help="owners with sockets (push)")
    parser.add_argument("--sockets-per-owner", type=int, default=10)
    parser.add_argument(
        "--list-sizes",
        type=sizes_list,
        default="0,2000,20000",
        help="lists: pending questions of the one owner, comma-separated (one run each)",
    )
    parser.add_argument(
        "--list-samples", type=int, default=100, help="lists: sequential GETs per size"
    )
    parser.add_argument(
        "--snapshot-samples", type=int, default=20, help="lists: feed connects per size"
    )
    parser.add_argument("--minutes", type=float, default=5.0, help="soak duration")
    parser.add_argument(
        "--warmup",
        type=float,
        default=60.0,
        help="soak: seconds of the same load before the measured steady phase",
    )
    parser.add_argument("--held", type=int, default=2000, help="soak: blocked asks held open")
    parser.add_argument("--rate", type=float, default=50.0, help="soak: asks/s and answers/s")
    parser.add_argument(
        "--drain", type=float, default=180.0, help="soak: at most this long to drain at the end"
    )
    parser.add_argument("--tp-seconds", type=float, default=5.0, help="throughput: per cell")
    parser.add_argument("--tp-rounds", type=int, default=2, help="throughput: rounds of cells")
    parser.add_argument(
        "--tp-answers", type=int, default=40000, help="throughput: questions to answer, per DB"
    )
    parser.add_argument(
        "--tp-endpoints",
        type=lambda text: [e for e in text.split(",") if e],
        default=",".join(tp.ENDPOINTS),
        help=f"throughput: endpoints, of {','.join(tp.ENDPOINTS)}",
    )
    parser.add_argument(
        "--tp-before",
        type=lambda text: Path(text).resolve(),
        help="throughput: also daphne from this checkout (before)",
    )
    parser.add_argument(
        "--tp-before-env",
        type=lambda text: dict(pair.split("=", 1) for pair in text.split(",") if pair),
        default={},
        help="throughput: K=V,... for the --tp-before daphne only",
    )
    parser.add_argument(
        "--py-spy", type=Path, help="throughput: py-spy profiles of daphne c8 GET into DIR"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (server logs)")
    parser.add_argument("--json", type=Path, help="results file (default bench/results/...)")
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when a figure misses its target"
    )
    args = parser.parse_args(argv)
    unknown = [p for p in args.parts if p not in PARTS]
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    parts = list(args.parts or [])
    if args.soak and "soak" not in parts:
        parts.append("soak")
    args.parts = parts or list(DEFAULT_PARTS)
    return args


def resolve_mode(requested: str) -> str:
    has_db, has_redis = bool(os.environ.get("DATABASE_URL")), bool(os.environ.get("REDIS_URL"))
    if requested == "auto":
        if has_db != has_redis:
            sys.exit("Set both DATABASE_URL and REDIS_URL (two-process mode), or neither.")
        return "redis" if has_db else "embedded"
    if requested == "redis" and not (has_db and has_redis):
        sys.exit("--mode redis needs DATABASE_URL and REDIS_URL.")
    return requested


async def amain(args: argparse.Namespace) -> int:
    mode = resolve_mode(args.mode)
    if "soak" in args.parts and mode != "redis":
        sys.exit("The soak runs on PostgreSQL + Redis: set DATABASE_URL and REDIS_URL.")
    run_id = uuid.uuid4().hex[:8]
    nofile = h.raise_nofile_limit()
    cluster = h.Cluster.create(
        mode=mode, port_base=args.port_base, run_id=run_id, keep_dir=args.keep
    )
    report = Report(mode=mode)
    ctx = Ctx(args=args, cluster=cluster, report=report, run_id=run_id)
    machine = h.machine_info()
    print(
        f"Makima mesh bench {run_id}: mode={mode} "
        f"({DEPLOYMENT[mode]}), "
        f"parts={' '.join(args.parts)}, nproc={machine['nproc']}, load={machine['loadavg']}, "
        f"sum(range(10**6))={machine['python_speed_ms']} ms, "
        f"RLIMIT_NOFILE={nofile}",
        flush=True,
    )
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    if main_task is not None:
        loop.add_signal_handler(signal.SIGTERM, main_task.cancel)
    failures = 0
    try:
        if mode == "redis":
            await cluster.delete_layer_keys()
        for part in args.parts:
            print(f"\n== {part} ...", flush=True)
            t0 = time.perf_counter()
            cpu0 = h.own_cpu_seconds()
            first_row = len(report.rows)
            first_server = len(cluster.started)
            try:
                await PART_FUNCS[part](ctx)
                harness_cpu = 100.0 * (h.own_cpu_seconds() - cpu0) / (time.perf_counter() - t0)
                report.add(
                    part,
                    "  (this harness's own CPU, same machine)",
                    f"{harness_cpu:.0f}% of a core",
                )
                report.data.setdefault("server_nofile", cluster.server_limits())
            except Exception as exc:  # noqa: BLE001 - a broken part must not hide the others
                failures += 1
                report.add(part, "PART FAILED", f"{type(exc).__name__}: {exc}"[:300], "", False)
                traceback.print_exc()
                for server in cluster.servers:
                    print(f"--- daphne {server.name} log tail:\n{server.log_tail()}")
            finally:
                await cluster.stop()
            logged: dict[str, int] = {}
            for server in cluster.started[first_server:]:
                logged[server.name] = logged.get(server.name, 0) + server.log_error_count()
            if logged:
                report.add(
                    part,
                    "  server log: ERROR lines + tracebacks",
                    " / ".join(f"{k} {v}" for k, v in sorted(logged.items())),
                    "0",
                    sum(logged.values()) == 0,
                )
            print(report.table(report.rows[first_row:]))
            print(f"({part}: {time.perf_counter() - t0:.0f} s)", flush=True)
    finally:
        await cluster.stop()
        if mode == "redis":
            cluster.cleanup_fixtures()
            await cluster.delete_layer_keys()
        cluster.remove_workdir()
        machine["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
        machine["python_speed_ms_end"] = h.python_speed_ms()
        path = args.json or RESULTS_DIR / (
            f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{mode}-{'-'.join(args.parts)}.json"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {
                    "run_id": run_id,
                    "mode": mode,
                    "machine": machine,
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "rows": [r.__dict__ for r in report.rows],
                    "data": report.data,
                },
                indent=2,
                default=str,
            )
        )
        print(
            f"\n== Makima mesh bench, mode={mode}, {machine['date_utc']}, "
            f"nproc={machine['nproc']}, load {' '.join(machine['loadavg'])} -> "
            f"{' '.join(machine['loadavg_end'])}, sum(range(10**6)) "
            f"{machine['python_speed_ms']} -> {machine['python_speed_ms_end']} ms"
        )
        print(report.table())
        print(f"\nresults: {path}")
    missed = sum(1 for r in report.rows if r.ok is False)
    return 1 if failures or (args.strict and missed) else 0


def main() -> None:
    if sys.argv[1:2] == ["chaos"]:  # the chaos soak has its own cluster and options
        from bench import chaos

        sys.exit(chaos.main(chaos.parse(sys.argv[2:])))
    args = parse_args()
    try:
        code = asyncio.run(amain(args))
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    main()
