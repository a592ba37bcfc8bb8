"""makima_site/observability: GET /metrics, and each metric moving when its event happens."""

import asyncio
import re

import pytest
from django.test import Client
from prometheus_client import REGISTRY
from rest_framework import status

from makima_site.observability import metrics
from tests import factories
from tests.mesh.conftest import answer_async, ask, asked_question_id, call, hub, in_thread

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["hub"]  # the wake hub fixture

METRICS_TOKEN = "metrics-secret-for-tests"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(token: str | None = METRICS_TOKEN) -> tuple[int, str]:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    response = Client().get("/metrics", **headers)
    return response.status_code, response.content.decode()


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = METRICS_TOKEN


def test_metrics_are_off_without_a_token_setting(settings):
    settings.METRICS_TOKEN = ""
    assert scrape()[0] == status.HTTP_404_NOT_FOUND


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_metrics_need_the_bearer_token(metrics_on, token):
    code, body = scrape(token)
    assert code == status.HTTP_401_UNAUTHORIZED
    assert "makima_" not in body


def test_metrics_with_the_token_are_the_prometheus_text_format(metrics_on):
    code, body = scrape()
    assert code == status.HTTP_200_OK
    for name in (
        "makima_http_requests_total",
        "makima_http_request_duration_seconds",
        "makima_questions_pending",
        "makima_waiters",
        "makima_wake_latency_seconds",
        "makima_question_settle_seconds",
        "makima_feed_sockets",
        "makima_webhook_deliveries_total",
        "makima_worker_jobs_total",
    ):
        assert f"# TYPE {name} " in body, name


def test_pending_questions_are_counted_at_scrape(metrics_on, task_and_key):
    task, _ = task_and_key
    factories.make_question(task)
    factories.make_question(task)
    assert re.search(r"^makima_questions_pending 2\.0$", scrape()[1], re.M)


async def test_a_request_counts_with_its_route_not_its_path(owner_token):
    labels = {"method": "GET", "route": "/api/v1/directives/", "status": "200"}
    before = sample("makima_http_requests_total", **labels)
    timed = sample("makima_http_request_duration_seconds_count", route="/api/v1/directives/")
    reply = await call("GET", "/api/v1/directives/", token=owner_token)
    assert reply.status == 200
    assert sample("makima_http_requests_total", **labels) == before + 1
    assert sample("makima_http_request_duration_seconds_count", route="/api/v1/directives/") == (
        timed + 1
    )


async def test_a_blocked_ask_is_a_waiter_and_its_answer_moves_wake_and_settle(
    hub, task_and_key, owner, settings
):
    settings.MESH_AUTO_TIMEOUT_SECONDS = 10
    _, key = task_and_key
    waiters = sample("makima_waiters")
    woken = sample("makima_wake_latency_seconds_count")
    settled = sample("makima_question_settle_seconds_count", status="answered")
    pending = asyncio.ensure_future(ask(key, {"question": "Deploy?"}, timeout=15))
    question_id = await asked_question_id(hub)
    assert sample("makima_waiters") == waiters + 1
    await answer_async(question_id=question_id, owner=owner, response="go")
    reply = await pending
    assert reply.status == 200
    assert sample("makima_waiters") == waiters
    assert sample("makima_wake_latency_seconds_count") == woken + 1
    assert sample("makima_wake_latency_seconds_sum") < 60  # seconds, not a clock mix-up
    assert sample("makima_question_settle_seconds_count", status="answered") == settled + 1
    route = "/api/v1/mesh/supervisor/questions"
    assert sample("makima_http_requests_total", method="POST", route=route, status="200") >= 1


def test_webhook_and_worker_counters_take_known_results_only():
    before = sample("makima_webhook_deliveries_total", result="delivered")
    metrics.webhook_delivered("delivered")
    assert sample("makima_webhook_deliveries_total", result="delivered") == before + 1
    jobs = sample("makima_worker_jobs_total", result="failed")
    metrics.worker_job_done("failed")
    assert sample("makima_worker_jobs_total", result="failed") == jobs + 1
    with pytest.raises(ValueError):
        metrics.webhook_delivered("some-id-1234")
    with pytest.raises(ValueError):
        metrics.worker_job_done("owner alice")


async def test_labels_carry_no_ids_tokens_or_names(metrics_on, task_and_key, owner, owner_token):
    _, key = task_and_key
    await ask(key, {"question": "Ship it?", "nonBlocking": True})
    question = (await call("GET", "/api/v1/mesh/questions", token=owner_token)).json()[0]
    question_id = question["questionId"]
    answered = await call(
        "POST",
        f"/api/v1/mesh/questions/{question_id}/answer",
        raw=b'{"response": "yes"}',
        token=owner_token,
        headers=[(b"content-length", b"19")],  # Django reads only Content-Length bytes
    )
    assert answered.status == 200, answered.body
    await call("GET", f"/api/v1/mesh/questions/{question_id}", token=owner_token)
    await call("GET", "/no/such/path/12345")
    code, body = await in_thread(scrape)()
    assert code == 200
    labels = " ".join(re.findall(r"^makima_\w+\{(.*)\} \S+$", body, re.M))
    for secret in (question_id, owner_token, key, owner.username):
        assert secret not in labels
    values = re.findall(r'(\w+)="([^"]*)"', labels)
    assert not [
        v for k, v in values if k not in ("le", "status") and re.search(r"[0-9a-f]{8}-|^\d+$", v)
    ]
    assert 'route="/api/v1/mesh/questions/{question_id}/answer"' in labels
    assert 'route="unmatched"' in labels
