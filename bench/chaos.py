"""The chaos soak: `bench/run.py chaos --minutes 10` (bench/README.md, "Chaos soak"). Root,
PostgreSQL + Redis (DATABASE_URL / REDIS_URL); not in CI.

The local cluster (deploy/cluster.py: two namespace hosts, four daphne, nginx) under load
through nginx: `held` blocked asks opened first and held, then `rate` asks/s and `rate`
settlements/s (answers 70 %, declines 15 %, the task's cancels 15 %) of questions the owners
find by listing their pending ones. Meanwhile a random daphne process is killed with SIGKILL
and started again every 30–90 s, and the hosts' links to Redis (twice) and PostgreSQL (once)
are cut for a few seconds: their forwarders are killed, which resets every connection as a
restart would, without touching the machine's shared servers. Clients retry as the SDK
does: the same Idempotency-Key until a final reply. At the end every question is answered,
and bench/chaos_check.py checks every record against every row.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from bench.chaos_check import AskRecord, SettleRecord, check, read_rows
from deploy.cluster import ROOT, Cluster

ASK = "/api/v1/mesh/supervisor/questions"
CUT_SECONDS = 3.0


class Chaos:
    def __init__(self, args: Any, cluster: Cluster, owners: list[dict[str, Any]]):
        self.args = args
        self.cluster = cluster
        self.base = f"http://127.0.0.1:{cluster.port}"
        self.owners = owners
        self.tasks = [(owner, task) for owner in owners for task in owner["tasks"]]
        self.asks: list[AskRecord] = []
        self.settles: list[SettleRecord] = []
        self.claimed: set[str] = set()
        self.fault = "none"
        self.replies: Counter[str] = Counter()  # "<fault>: <status>"
        self.faults: list[dict[str, Any]] = []
        self.draining = False
        self.session: aiohttp.ClientSession

    def note(self, status: int | str) -> None:
        self.replies[f"{self.fault}: {status}"] += 1

    async def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        try:
            async with self.session.request(method, f"{self.base}{path}", **kwargs) as reply:
                body = await reply.json(content_type=None) if reply.status < 500 else None
                self.note(reply.status)
                return reply.status, body
        except (TimeoutError, aiohttp.ClientError, ValueError) as error:
            self.note(type(error).__name__)
            return 0, None

    async def ask(self, held: bool) -> None:
        owner, task = random.choice(self.tasks)
        marker = ("held-" if held else "") + uuid.uuid4().hex
        record = AskRecord(marker=marker, task_id=task["id"], key=uuid.uuid4().hex)
        self.asks.append(record)
        headers = {"X-Makima-Tool-Key": task["key"], "Idempotency-Key": record.key}
        body = {"question": f"Chaos ask #{marker}", "phaseguard": True}
        while True:
            record.attempts += 1
            status, reply = await self.request("POST", ASK, json=body, headers=headers)
            if status in (200, 408) and reply:
                record.question_ids.add(reply["questionId"])
                if not reply.get("stillPending"):
                    record.final = reply
                    return
                continue  # the block wait ended: ask again with the same key
            if 400 <= status < 500 and status not in (408, 429):
                record.final = {"status": f"client error {status}", "body": reply}
                return
            await asyncio.sleep(0.2 + random.random() * 0.3)

    async def settle_one(self, owner: dict[str, Any], item: dict[str, Any]) -> None:
        action = "answer"
        if not self.draining:
            action = random.choices(["answer", "decline", "cancel"], [70, 15, 15])[0]
        question_id = item["questionId"]
        text = f"{action} {uuid.uuid4().hex[:8]}"
        record = SettleRecord(question_id=question_id, action=action, text=text)
        self.settles.append(record)
        bearer = {"Authorization": f"Bearer {owner['token']}"}
        for _ in range(50):
            if action == "answer":
                path, body = f"/api/v1/mesh/questions/{question_id}/answer", {"response": text}
                status, _ = await self.request("POST", path, json=body, headers=bearer)
            elif action == "decline":
                path, body = f"/api/v1/mesh/questions/{question_id}/decline", {"reason": text}
                status, _ = await self.request("POST", path, json=body, headers=bearer)
            else:
                key = next(t["key"] for t in owner["tasks"] if t["id"] == item["taskId"])
                status, _ = await self.request(
                    "DELETE",
                    f"{ASK}/{question_id}",
                    json={"reason": text},
                    headers={"X-Makima-Tool-Key": key},
                )
            record.statuses.append(status)
            if 0 < status < 500:
                return
            await asyncio.sleep(0.3)

    async def settler(self, owner: dict[str, Any], stop: asyncio.Event) -> None:
        """The owner lists its pending questions about once a second and settles its share of
        `rate` a second (a slow list does not slow the rate); in the drain, all of them."""
        pending: list[asyncio.Task[None]] = []
        share = self.args.rate / len(self.owners)
        budget, last = 0.0, time.monotonic()
        while not stop.is_set():
            status, items = await self.request(
                "GET",
                "/api/v1/mesh/questions",
                headers={"Authorization": f"Bearer {owner['token']}"},
            )
            now = time.monotonic()
            budget, last = min(budget + (now - last) * share, 5 * share), now
            fresh = [
                item
                for item in (items or [])
                if status == 200
                if item["questionId"] not in self.claimed
                and (self.draining or "#held-" not in item["question"])
            ]
            take = len(fresh) if self.draining else int(budget)
            for item in fresh[:take]:
                self.claimed.add(item["questionId"])
                pending.append(asyncio.ensure_future(self.settle_one(owner, item)))
            budget -= min(take, len(fresh))
            await asyncio.sleep(1.0)
        await asyncio.gather(*pending)

    async def inject(self, label: str, names: list[str], down: float) -> None:
        started = time.monotonic()
        self.fault = label
        for name in names:
            self.cluster.kill(name)
        await asyncio.sleep(down)
        for name in names:
            self.cluster.respawn(name)
        urls = list(self.cluster.daphne_urls().values())
        while not await self._all_healthy(urls):
            await asyncio.sleep(0.1)
        self.faults.append({"fault": label, "recovery_s": round(time.monotonic() - started, 2)})
        self.fault = "none"

    async def _all_healthy(self, urls: list[str]) -> bool:
        for url in urls:
            try:
                async with self.session.get(
                    f"{url}/healthz",
                ) as r:
                    if r.status != 200:
                        return False
            except (TimeoutError, aiohttp.ClientError):
                return False
        return True

    async def chaos(self, seconds: float) -> None:
        start = time.monotonic()
        cuts = {0.3: "redis", 0.5: "pg", 0.7: "redis"}
        next_kill = start + random.uniform(30, 90) * self.args.kill_scale
        while (now := time.monotonic()) < start + seconds:
            fraction = (now - start) / seconds
            for at in [at for at in cuts if fraction >= at]:
                service = cuts.pop(at)
                names = [f"forward-{service}-h{h.index}" for h in self.cluster.hosts]
                await self.inject(f"{service} cut", names, CUT_SECONDS)
            if now >= next_kill:
                victim = random.choice(list(self.cluster.daphne_urls()))
                await self.inject(f"SIGKILL {victim}", [victim], 1.0)
                next_kill = time.monotonic() + random.uniform(30, 90) * self.args.kill_scale
            await asyncio.sleep(0.2)

    async def run(self) -> dict[str, Any]:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as self.session:
            workers = [asyncio.ensure_future(self.ask(held=True)) for _ in range(self.args.held)]
            stop = asyncio.Event()
            settlers = [asyncio.ensure_future(self.settler(o, stop)) for o in self.owners]
            chaos = asyncio.ensure_future(self.chaos(self.args.minutes * 60))
            while not chaos.done():
                workers.append(asyncio.ensure_future(self.ask(held=False)))
                await asyncio.sleep(1 / self.args.rate)
            await chaos
            self.draining = True
            deadline = time.monotonic() + self.args.drain
            while any(a.final is None for a in self.asks) and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
            stop.set()
            await asyncio.gather(*settlers)
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
        return {"replies": dict(sorted(self.replies.items())), "faults": self.faults}


def _rss(cluster: Cluster) -> dict[str, int]:
    sizes = {}
    for process in cluster.state.processes():
        try:
            status = Path(f"/proc/{process['pid']}/status").read_text()
        except OSError:
            continue
        kb = next((line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")), 0)
        sizes[process["name"]] = int(kb) // 1024
    return sizes


def main(args: Any) -> int:
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "SECURE_SSL_REDIRECT": "0",
        "STATIC_ROOT": tempfile.mkdtemp(prefix="makima-chaos-static-"),
        "MESH_BLOCK_WAIT_SECONDS": "120",
        "MESH_MAX_PENDING_PER_TASK": "10000",
        "DB_POOL_MAX_SIZE": "4",
        "LOG_LEVEL": "WARNING",
        **{f"THROTTLE_{s}_RATE": "off" for s in ("ASK", "ANSWER", "AUTH_FAILURE")},
    }
    env.setdefault("CLUSTER_NET", "9")
    if not (env.get("DATABASE_URL") and env.get("REDIS_URL")):
        sys.exit("the chaos soak needs DATABASE_URL and REDIS_URL (PostgreSQL + Redis)")
    state = Path(tempfile.mkdtemp(prefix="makima-chaos-"))
    cluster = Cluster(state_dir=state, port=args.port, net=int(env["CLUSTER_NET"]), env=env)
    prefix = f"chaos-{uuid.uuid4().hex[:6]}"
    fixtures = [sys.executable, str(ROOT / "bench" / "fixtures.py")]
    try:
        cluster.start()
        spec = {
            "prefix": prefix,
            "groups": [{"name": "chaos", "owners": 10, "tasks_per_owner": 10}],
        }
        made = subprocess.run(
            [*fixtures, "create"],
            input=json.dumps(spec),
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        owners = json.loads(made.stdout.strip().splitlines()[-1])["groups"]["chaos"]
        rss_start = _rss(cluster)
        started = time.monotonic()
        chaos = Chaos(args, cluster, owners)
        load = asyncio.run(chaos.run())
        rows, keys = read_rows(env["DATABASE_URL"], [t["id"] for _, t in chaos.tasks])
        result = {
            "minutes": args.minutes,
            "held": args.held,
            "rate": args.rate,
            "seconds": round(time.monotonic() - started),
            "machine_load": os.getloadavg(),
            **check(chaos.asks, chaos.settles, rows, keys),
            **load,
            "rss_mb_start": rss_start,
            "rss_mb_end": _rss(cluster),
        }
    finally:
        subprocess.run([*fixtures, "cleanup", prefix], env=env, cwd=ROOT, capture_output=True)
        cluster.stop()
    print(json.dumps(result, indent=2, default=str))
    out = ROOT / "bench" / "results" / f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-chaos.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str))
    print(f"results: {out}")
    return 1 if any(result["violations"].values()) else 0


def parse(argv: list[str]) -> Any:
    import argparse

    parser = argparse.ArgumentParser(
        prog="bench/run.py chaos",
        description="The chaos soak (bench/README.md, 'Chaos soak'); root, PostgreSQL + Redis.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--held", type=int, default=1000, help="blocked asks held open")
    parser.add_argument("--rate", type=float, default=30.0, help="asks/s and settlements/s")
    parser.add_argument("--drain", type=float, default=180.0, help="at most this long at the end")
    parser.add_argument("--port", type=int, default=8090, help="nginx's port (and +1, +2)")
    parser.add_argument(
        "--kill-scale", type=float, default=1.0, help="scale the 30-90 s between daphne kills"
    )
    return parser.parse_args(argv)
