"""The soak: minutes of steady mixed load on two daphne processes (PostgreSQL +
Redis). Run by bench/run.py (`bench/run.py soak --minutes 5`); not in the default run, not in
CI.

Load: `held` blocked asks opened first and kept open (semi-auto directive, so each blocks up
to the block wait, set far beyond the soak); then, for `minutes`, `rate` new blocked asks/s
arrive (alternating A and B) and `rate` answers/s are given to the oldest pending questions
(on the other process than the ask, so every wake crosses Redis), while owners list their
pending questions (10/s) and tasks file orders (5/s). At the end every remaining question is
answered and every ask must return its own answer.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from bench import harness as h

LIST_RATE = 10.0
ORDER_RATE = 5.0
SAMPLE_EVERY_S = 10.0


@dataclass
class Ask:
    marker: str
    owner: dict
    server: h.Server
    task: asyncio.Task
    question_id: str | None = None
    answer_text: str | None = None
    answer_started: float | None = None
    answer_phase: str = ""
    answered: bool = False


@dataclass
class SoakState:
    asks: dict[str, Ask] = field(default_factory=dict)
    answerable: collections.deque = field(default_factory=collections.deque)
    latencies: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    statuses: dict[str, collections.Counter] = field(
        default_factory=lambda: collections.defaultdict(collections.Counter)
    )
    answers_given: int = 0
    phase: str = "held"  # held | steady | drain: latencies are reported per phase
    errors: list[str] = field(default_factory=list)

    def record(self, endpoint: str, reply: h.Reply, ok_status: int) -> None:
        self.statuses[endpoint][reply.status] += 1
        if reply.status == ok_status:
            self.latencies[f"{self.phase}: {endpoint}"].append(reply.seconds)
        elif reply.status == 0:
            self.errors.append(f"{endpoint}: transport error {reply.error}"[:200])
        elif reply.status >= 500:
            self.errors.append(f"{endpoint}: {reply.status} {reply.body}"[:200])


async def run_soak(ctx) -> None:
    c = ctx.cluster
    args = ctx.args
    duration = args.minutes * 60.0
    rate = args.rate
    held = args.held
    c.migrate()
    owners = c.fixtures(
        [{"name": "soak", "owners": 50, "tasks_per_owner": 4, "mode": "semi-auto"}]
    )["soak"]
    long = duration + 900
    waits = {
        **h.LONG_WAITS,
        "MESH_BLOCK_WAIT_SECONDS": long,
        "MESH_POLL_WAIT_SECONDS": long,
    }
    await c.start(waits, h.UNTHROTTLED_ENV)
    a, b = c.servers[0], c.servers[1]
    other = {a.name: b, b.name: a}
    state = SoakState()
    series: list[dict[str, Any]] = []
    data: dict[str, Any] = {"minutes": args.minutes, "held": held, "rate": rate}
    data["at_boot"] = c.readings()
    counter = 0

    session = h.new_session()
    background: set[asyncio.Task] = set()

    def spawn(coro) -> None:
        task = asyncio.create_task(coro)
        background.add(task)
        task.add_done_callback(background.discard)

    def open_ask() -> None:
        nonlocal counter
        owner = owners[counter % len(owners)]
        key = owner["tasks"][(counter // len(owners)) % len(owner["tasks"])]["key"]
        server = a if counter % 2 == 0 else b
        marker = ctx.marker("soak", counter)
        counter += 1
        task = asyncio.create_task(h.ask(session, server, key, marker, timeout=long + 120))
        state.asks[marker] = Ask(marker=marker, owner=owner, server=server, task=task)

    async def list_owner(owner: dict, server: h.Server) -> None:
        reply = await h.list_pending(session, server, owner["token"])
        state.record("GET questions (list)", reply, 200)
        if reply.status != 200 or not isinstance(reply.body, list):
            return
        for item in reply.body:
            entry = state.asks.get(item.get("question"))
            if entry is not None and entry.question_id is None:
                entry.question_id = item["questionId"]
                state.answerable.append(entry)

    async def give_answer(entry: Ask) -> None:
        entry.answer_text = f"answer to {entry.marker}"
        server = other[entry.server.name]
        entry.answer_started = time.perf_counter()
        entry.answer_phase = state.phase
        assert entry.question_id is not None  # answered only once listed
        reply = await h.answer(
            session, server, entry.owner["token"], entry.question_id, entry.answer_text
        )
        state.record("POST answer", reply, 200)
        if reply.status == 200:
            entry.answered = True
            state.answers_given += 1
        else:
            state.errors.append(f"answer {reply.status} {reply.body}"[:200])

    async def file_order(index: int) -> None:
        owner = owners[index % len(owners)]
        key = owner["tasks"][index % len(owner["tasks"])]["key"]
        server = a if index % 2 else b
        reply = await h.call(
            session,
            "POST",
            server.base + h.ORDERS_PATH,
            headers=h.tool_headers(key),
            json_body={
                "title": f"soak order {index}",
                "description": "filed during the soak",
                "orderType": "chore" if index % 2 else "spike",
            },
            timeout=60,
        )
        state.record("POST orders", reply, 201)

    async def every(period: float, action, until: float) -> None:
        next_at = time.perf_counter()
        index = 0
        while time.perf_counter() < until:
            action(index)
            index += 1
            next_at += period
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

    async def discover_all(timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            missing = [
                e for e in state.asks.values() if e.question_id is None and not e.task.done()
            ]
            if not missing:
                return
            for i, owner in enumerate(owners):
                await list_owner(owner, a if i % 2 else b)
            await asyncio.sleep(0.5)

    try:
        # Phase 0: the held pool.
        t0 = time.perf_counter()
        for i in range(held):
            open_ask()
            if i % 250 == 249:
                await asyncio.sleep(0.05)
        await discover_all(timeout=max(120.0, held / 20))
        data["held_open_s"] = round(time.perf_counter() - t0, 1)
        data["held_listed"] = sum(1 for e in state.asks.values() if e.question_id)
        await asyncio.sleep(2)
        data["before_warmup"] = c.readings()

        def answer_tick(_: int) -> None:
            if state.answerable:
                spawn(give_answer(state.answerable.popleft()))

        def list_tick(i: int) -> None:
            spawn(list_owner(owners[i % len(owners)], a if i % 2 else b))

        async def sampler() -> None:
            while time.perf_counter() < until:
                await asyncio.sleep(SAMPLE_EVERY_S)
                # In a thread: a slow PostgreSQL connect must not stall the load generator.
                reading = await asyncio.to_thread(c.readings)
                point = {"t": round(time.perf_counter() - start, 1), **reading}
                point["held_open"] = sum(1 for e in state.asks.values() if not e.task.done())
                series.append(point)
                if len(series) % 6 == 0:
                    print(
                        f"  soak t={point['t']:.0f}s held={point['held_open']} "
                        f"given={state.answers_given} "
                        + " ".join(f"{s.name}={point[s.name]['rss_mb']}MB" for s in c.servers)
                        + f" pg={point.get('pg_connections')}",
                        flush=True,
                    )

        def mix(until: float) -> list:
            return [
                every(1.0 / rate, lambda _: open_ask(), until),
                every(1.0 / rate, answer_tick, until),
                every(1.0 / LIST_RATE, list_tick, until),
                every(1.0 / ORDER_RATE, lambda i: spawn(file_order(i)), until),
            ]

        # Phase 1a: warm-up with the same mix (pools, worker threads and caches fill up),
        # so that the steady phase's start reading is not the servers' idle size.
        print(
            f"  soak: {data['held_listed']} asks held open in {data['held_open_s']} s; "
            f"{args.warmup:g} s warm-up, then {args.minutes} min at {rate}/s asks and answers",
            flush=True,
        )
        state.phase = "warmup"
        await asyncio.gather(*mix(time.perf_counter() + args.warmup))

        # Phase 1b: steady load, measured.
        data["start"] = c.readings()
        data["layer_keys_start"] = await c.layer_keys()
        series.append({"t": 0.0, **data["start"]})
        state.phase = "steady"
        start = time.perf_counter()
        until = start + duration
        await asyncio.gather(*mix(until), sampler())
        data["end"] = c.readings()
        data["layer_keys_end"] = await c.layer_keys()
        data["steady_s"] = round(time.perf_counter() - start, 1)

        # Phase 2: drain — answer everything still pending; every ask must return its answer.
        # Bounded (--drain seconds): an overloaded server must not keep the run going.
        drain_until = time.monotonic() + args.drain
        state.phase = "drain"

        def drain_left() -> float:
            return max(1.0, drain_until - time.monotonic())

        if background:
            await asyncio.wait(set(background), timeout=min(60.0, drain_left()))
        await discover_all(timeout=min(120.0, drain_left()))
        sem = asyncio.Semaphore(50)

        async def drain_answer(entry: Ask) -> None:
            async with sem:
                await give_answer(entry)

        drained = [asyncio.create_task(drain_answer(e)) for e in state.answerable]
        state.answerable.clear()
        if drained:
            await asyncio.wait(drained, timeout=drain_left())
        for task in drained:
            task.cancel()
        pending = [e.task for e in state.asks.values() if not e.task.done()]
        if pending:
            await asyncio.wait(pending, timeout=drain_left())
        data["drain_s"] = round(args.drain - (drain_until - time.monotonic()), 1)
        data["after_drain"] = await asyncio.to_thread(c.readings)
    finally:
        for task in list(background):
            task.cancel()
        for entry in state.asks.values():
            if not entry.task.done():
                entry.task.cancel()
        await asyncio.gather(
            *background, *(e.task for e in state.asks.values()), return_exceptions=True
        )
        await session.close()

    delivered = 0
    undelivered_examples: list[str] = []
    for entry in state.asks.values():
        if entry.task.cancelled():
            if entry.answered:
                undelivered_examples.append("ask still blocked after its answer")
            continue
        reply = entry.task.result()
        state.statuses["POST ask (blocking)"][reply.status] += 1
        if reply.status >= 500 or reply.status == 0:
            state.errors.append(f"ask {reply.status} {reply.error or reply.body}"[:200])
        if not entry.answered:
            continue
        if (
            reply.status == 200
            and isinstance(reply.body, dict)
            and reply.body.get("response") == entry.answer_text
        ):
            delivered += 1
            state.latencies[f"{entry.answer_phase}: ask wake (answer start -> return)"].append(
                reply.finished - entry.answer_started
            )
            continue
        undelivered_examples.append(f"ask {reply.status} {reply.body}"[:200])
    five_xx = sum(
        count
        for counter_ in state.statuses.values()
        for status, count in counter_.items()
        if status >= 500
    )
    transport = sum(counter_.get(0, 0) for counter_ in state.statuses.values())
    data.update(
        {
            "asks_opened": len(state.asks),
            "answers_given": state.answers_given,
            "answers_delivered": delivered,
            "undelivered_examples": sorted(set(undelivered_examples))[:5],
            "five_xx": five_xx,
            "transport_errors": transport,
            "error_examples": sorted(set(state.errors))[:8],
            "statuses": {k: dict(v) for k, v in state.statuses.items()},
            "latency": {k: h.summary_ms(v) for k, v in state.latencies.items()},
            "series": series,
            "server_log_errors": {s.name: s.log_error_count() for s in c.servers},
        }
    )
    ctx.report.data["soak"] = data

    r = ctx.report
    given = state.answers_given
    ratio = 100.0 * delivered / given if given else 0.0
    r.add(
        "soak",
        f"{args.minutes:g} min, 2 daphne: answers delivered / given",
        f"{delivered} / {given} ({ratio:.2f}%)",
        "100%",
        given > 0 and delivered == given,
    )
    r.add("soak", "  asks opened (held + arriving)", len(state.asks))
    requests = sum(sum(counter_.values()) for counter_ in state.statuses.values())
    if "after_drain" in data and requests:
        cpu = sum(
            data["after_drain"][s.name]["cpu_s"] - data["at_boot"][s.name]["cpu_s"]
            for s in c.servers
        )
        steady_cpu = sum(
            data["end"][s.name]["cpu_s"] - data["start"][s.name]["cpu_s"] for s in c.servers
        )
        data["server_cpu_ms_per_request"] = round(1000.0 * cpu / requests, 1)
        data["steady_cores_used"] = round(steady_cpu / data["steady_s"], 2)
        r.add(
            "soak",
            "  server CPU per request (A+B, all requests) / cores used in steady phase",
            f"{data['server_cpu_ms_per_request']} ms / {data['steady_cores_used']} of 2",
        )
    r.add("soak", "  5xx responses", five_xx, "0", five_xx == 0)
    r.add("soak", "  transport errors (no HTTP status)", transport, "0", transport == 0)
    for endpoint, summary in sorted(data["latency"].items()):
        if endpoint.startswith("steady: "):
            r.add("soak", f"  {endpoint}", h.lat(summary))
    drain_wake = data["latency"].get("drain: ask wake (answer start -> return)")
    if drain_wake:
        r.add("soak", "  drain (all left answered at once): ask wake", h.lat(drain_wake))
    for s in c.servers:
        rb = data["before_warmup"][s.name]["rss_mb"]
        rs, re = data["start"][s.name]["rss_mb"], data["end"][s.name]["rss_mb"]
        growth = 100.0 * (re - rs) / rs
        r.add(
            "soak",
            f"  RSS {s.name} before warm-up / start / end of the steady phase",
            f"{rb} / {rs} / {re} MB ({growth:+.1f}% over the steady phase)",
            "flat within 10%",
            abs(growth) <= 10,
        )
    pgs = [p["pg_connections"] for p in series if "pg_connections" in p]
    bound = h.POOL_SIZE * c.process_count
    r.add(
        "soak",
        "  PostgreSQL connections (min / max over the soak)",
        f"{min(pgs)} / {max(pgs)}" if pgs else "n/a",
        f"<= {bound} (pools)",
        bool(pgs) and max(pgs) <= bound,
    )
    with contextlib.suppress(KeyError, TypeError):
        r.add(
            "soak",
            "  channel-layer keys start / end",
            f"{data['layer_keys_start']['prefix_keys']} / {data['layer_keys_end']['prefix_keys']}",
        )
