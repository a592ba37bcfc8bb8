"""The local cluster (deploy/cluster.py) on the test database: two namespace hosts with two
daphne processes each behind nginx (PostgreSQL + Redis pass, as root).

`127.0.0.1:port` balances over all four processes, `port+1` over host 1's and `port+2` over
host 2's, so "served on host N" goes through nginx too. The last tests kill host 1 and stop
the cluster; they run in file order. The retrying client here is httpx in a loop with one
Idempotency-Key; the SDK (makima_client) replaces it once it is merged.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from websockets.sync.client import connect

from deploy import netns, nginx
from deploy.state import State
from mesh.models import Question
from tests import factories, live_daphne
from tests.live_daphne import ROOT, free_port, off_thread

ASK = "/api/v1/mesh/supervisor/questions"
FEED = "/ws/v1/mesh/questions/"
NET = 100 + os.getpid() % 100  # the cluster's 198.18.NET.0/24, apart from `make cluster`'s 0


def _skip_reason() -> str | None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return "the cluster test runs in the PostgreSQL + Redis pass: set DATABASE_URL"
    if not settings.REDIS_URL:
        return "the cluster test runs in the PostgreSQL + Redis pass: set REDIS_URL"
    if shutil.which(nginx.NGINX) is None:
        return f"{nginx.NGINX} is missing (Debian's nginx package)"
    return netns.unavailable_reason()


pytestmark = [pytest.mark.multiprocess, pytest.mark.django_db(transaction=True)]


def _three_free_ports() -> int:
    while True:
        port = free_port()
        if port < 65000 and all(_is_free(port + offset) for offset in (1, 2)):
            return port


def _is_free(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _cluster_command(state_dir, command: str, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "deploy.cluster", command, "--state-dir", str(state_dir)],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def cluster(django_db_setup, django_db_blocker, tmp_path_factory):
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    state_dir = tmp_path_factory.mktemp("cluster")
    port = _three_free_ports()
    env = {
        **os.environ,
        **live_daphne.test_database_env(),
        "REDIS_URL": settings.REDIS_URL,
        "CLUSTER_PORT": str(port),
        "CLUSTER_NET": str(NET),
        "MESH_BLOCK_WAIT_SECONDS": "20",
        "DB_POOL_MAX_SIZE": "4",
        "DEBUG": "true",
    }
    try:
        _cluster_command(state_dir, "start", env)
    except subprocess.CalledProcessError:
        _cluster_command(state_dir, "stop", env)
        raise
    yield {"port": port, "state": State(state_dir), "env": env, "dir": state_dir}
    _cluster_command(state_dir, "stop", env)


def _front(cluster, host: int | None = None) -> str:
    return f"http://127.0.0.1:{cluster['port'] + (host or 0)}"


def _owner_task_token():
    def make():
        owner = factories.make_owner()
        task, key = factories.make_task(owner, factories.make_directive(owner))
        return owner, task, key, factories.make_token(owner)

    return off_thread(make)


def _question_of(task, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        question = off_thread(lambda: Question.objects.filter(task=task).first())
        if question is not None:
            return question
        time.sleep(0.02)
    raise AssertionError("the ask never reached the database")


def _answer(base: str, question, token: str, response: str) -> None:
    reply = httpx.post(
        f"{base}/api/v1/mesh/questions/{question.id}/answer",
        json={"response": response},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert reply.status_code == 200, reply.text


def test_an_ask_on_host_1_is_woken_by_an_answer_on_host_2(cluster):
    _, task, key, token = _owner_task_token()
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(
            httpx.post,
            f"{_front(cluster, 1)}{ASK}",
            json={"question": "Across hosts?", "phaseguard": True},
            headers={"X-Makima-Tool-Key": key},
            timeout=30,
        )
        question = _question_of(task)
        assert not pending.done(), pending.result().text
        _answer(_front(cluster, 2), question, token, "from host 2")
        reply = pending.result(timeout=5)
    assert reply.status_code == 200, reply.text
    assert reply.json()["response"] == "from host 2"


def test_a_feed_socket_on_host_2_sees_a_question_asked_on_host_1(cluster):
    _, _, key, token = _owner_task_token()
    base = _front(cluster, 2)
    with connect(
        f"{base.replace('http', 'ws')}{FEED}",
        subprotocols=["makima.bearer", token],  # type: ignore[list-item]
        origin=base,  # type: ignore[arg-type]
        open_timeout=10,
    ) as feed:
        assert json.loads(feed.recv(timeout=10))["type"] == "snapshot"
        asked = httpx.post(
            f"{_front(cluster, 1)}{ASK}",
            json={"question": "Seen on host 2?", "nonBlocking": True},
            headers={"X-Makima-Tool-Key": key},
            timeout=10,
        )
        assert asked.status_code == 200, asked.text
        event = json.loads(feed.recv(timeout=10))
    assert event["type"] == "question.asked"
    assert event["question"]["questionId"] == asked.json()["questionId"]


def _ask_with_retries(urls: list[str], key: str, idempotency_key: str, log: list) -> httpx.Response:
    """The first attempt through `urls[0]`, retries through `urls[1]` until a 2xx/4xx."""
    deadline = time.monotonic() + 30
    for attempt in range(1000):
        url = urls[min(attempt, 1)]
        try:
            reply = httpx.post(
                f"{url}{ASK}",
                json={"question": "Survive host 1?", "phaseguard": True},
                headers={"X-Makima-Tool-Key": key, "Idempotency-Key": idempotency_key},
                timeout=30,
            )
            log.append(reply.status_code)
            if reply.status_code < 500:
                return reply
        except httpx.HTTPError as error:
            log.append(type(error).__name__)
        assert time.monotonic() < deadline, f"no success: {log}"
        time.sleep(0.1)
    raise AssertionError(log)


def test_host_1_killed_a_retried_ask_completes_through_host_2(cluster):
    _, task, key, token = _owner_task_token()
    attempts: list = []
    state = cluster["state"]
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(
            _ask_with_retries,
            [_front(cluster, 1), _front(cluster)],
            key,
            str(uuid.uuid4()),
            attempts,
        )
        question = _question_of(task)
        for process in state.processes():
            if process["name"].endswith(("h1-8001", "h1-8002")) or process["name"] == "worker-h1":
                os.killpg(process["pid"], signal.SIGKILL)
        deadline = time.monotonic() + 10
        while not attempts:
            assert time.monotonic() < deadline, "the first attempt never failed"
            time.sleep(0.02)
        time.sleep(0.3)  # the retry is waiting on host 2 by now
        _answer(_front(cluster), question, token, "after the crash")
        reply = pending.result(timeout=20)
    assert reply.status_code == 200, (reply.text, attempts)
    assert reply.json()["response"] == "after the crash"
    assert reply.json()["questionId"] == str(question.id)
    assert attempts[0] != 200  # the first attempt died with host 1
    assert off_thread(lambda: Question.objects.filter(task=task).count()) == 1


def test_cluster_stop_leaves_no_namespace_veth_or_process(cluster):
    processes = cluster["state"].processes()
    _cluster_command(cluster["dir"], "stop", cluster["env"])
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True).stdout
    for index in (1, 2):
        host = netns.Host(net=NET, index=index)
        assert host.namespace not in namespaces
        assert host.veth_root not in links
    for process in processes:
        try:
            stat = Path(f"/proc/{process['pid']}/stat").read_text()
        except OSError:
            continue
        assert stat.rpartition(")")[2].split()[0] == "Z", process  # gone, or a zombie for init
    assert not cluster["state"].path.exists()
