"""Real daphne processes: one scrape sees every process's metrics (PROMETHEUS_MULTIPROC_DIR),
and with LOG_FORMAT=json every line a process writes is one JSON object."""

import json
import re

import httpx
import pytest

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "scrape-token-for-tests"


def total(body: str, route: str) -> float:
    """makima_http_requests_total of GET `route` with status 200, from a scrape."""
    found = 0.0
    for labels, value in re.findall(r"^makima_http_requests_total\{(.*)\} (\S+)$", body, re.M):
        if {'method="GET"', f'route="{route}"', 'status="200"'} <= set(labels.split(",")):
            found += float(value)
    return found


def test_one_scrape_reports_both_processes(daphne_servers, tmp_path):
    shared = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "METRICS_TOKEN": TOKEN}
    a = daphne_servers("metrics-a", **shared)
    b = daphne_servers("metrics-b", **shared)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    before = total(httpx.get(f"{a.base_url}/metrics", headers=headers).text, "/healthz")
    for _ in range(3):
        assert httpx.get(f"{a.base_url}/healthz").status_code == 200
    for _ in range(2):
        assert httpx.get(f"{b.base_url}/healthz").status_code == 200
    for server in (a, b):
        reply = httpx.get(f"{server.base_url}/metrics", headers=headers)
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/plain")
        assert total(reply.text, "/healthz") == before + 5
    assert httpx.get(f"{b.base_url}/metrics").status_code == 401


def test_json_logs_are_one_object_a_line_in_a_real_process(daphne_servers, owner_token):
    server = daphne_servers("json-logs", args=("-v", "0"), LOG_FORMAT="json", LOG_LEVEL="INFO")
    reply = httpx.get(
        f"{server.base_url}/api/v1/directives/",
        headers={"Authorization": f"Bearer {owner_token}", "X-Request-ID": "req-42"},
    )
    assert reply.status_code == 200
    assert reply.headers["x-request-id"] == "req-42"
    httpx.get(f"{server.base_url}/api/v1/directives/", headers={"Authorization": "Bearer nope"})
    server.stop()
    text = server.log_path.read_text()
    parsed = [json.loads(line) for line in text.splitlines() if line.strip()]
    access = [line for line in parsed if line["logger"] == "makima.access"]
    mine = [line for line in access if line.get("requestId") == "req-42"]
    assert len(mine) == 1
    assert mine[0]["route"] == "/api/v1/directives/"
    assert owner_token not in text
    assert "nope" not in text
