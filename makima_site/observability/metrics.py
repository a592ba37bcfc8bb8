"""The service's Prometheus metrics, defined once, and the functions that move them.

Names and labels are the contract of docs/observability.md. Labels never carry ids, tokens
or owner names: `route` is the URL pattern (makima_site/observability/routes.py), `status`
an HTTP status or a question status, `result` one of a few words.

Several processes: with PROMETHEUS_MULTIPROC_DIR set (a directory shared by every server
process of a host, emptied before they start) prometheus_client keeps each process's
values in files there, and any process's /metrics reports them all (counters and
histograms summed; the gauges of live processes summed, each process removing its own at
exit). Without it each process reports only its own values: scrape every process.
makima_questions_pending is read from the database at scrape time, so it is the same
whichever process answers.
"""

import atexit
import os
import time
from collections.abc import Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

# Seconds: requests take milliseconds; waits and answers up to hours.
_REQUEST_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_WAKE_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
_SETTLE_BUCKETS = (0.1, 1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0)

# The `result` words of the webhook and worker counters (webhooks and the worker call
# webhook_delivered / worker_job_done with one of these).
WEBHOOK_RESULTS = ("delivered", "failed", "retrying", "dropped")
WORKER_RESULTS = ("succeeded", "failed", "retrying")

HTTP_REQUESTS = Counter(
    "makima_http_requests_total",
    "HTTP requests served, by method, URL pattern and status.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "makima_http_request_duration_seconds",
    "Time from a request's start to its response's last byte, by URL pattern.",
    ["route"],
    buckets=_REQUEST_BUCKETS,
)
WAITERS = Gauge(
    "makima_waiters",
    "Blocked asks and polls waiting for a settlement, in this process (or all live ones).",
    multiprocess_mode="livesum",
)
WAKE_LATENCY = Histogram(
    "makima_wake_latency_seconds",
    "From a settlement's commit to its waiter's reply.",
    buckets=_WAKE_BUCKETS,
)
SETTLE_SECONDS = Histogram(
    "makima_question_settle_seconds",
    "From a question's ask to its settlement, by how it settled.",
    ["status"],
    buckets=_SETTLE_BUCKETS,
)
FEED_SOCKETS = Gauge(
    "makima_feed_sockets",
    "Open feed websockets, in this process (or all live ones).",
    multiprocess_mode="livesum",
)
WEBHOOK_DELIVERIES = Counter(
    "makima_webhook_deliveries_total", "Webhook delivery attempts, by result.", ["result"]
)
WORKER_JOBS = Counter("makima_worker_jobs_total", "Worker jobs run, by result.", ["result"])
# Every result from the start (at 0), so a dashboard's rate() sees the first one.
for _result in WEBHOOK_RESULTS:
    WEBHOOK_DELIVERIES.labels(result=_result)
for _result in WORKER_RESULTS:
    WORKER_JOBS.labels(result=_result)

PENDING_NAME = "makima_questions_pending"


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def _mark_dead() -> None:
    if multiprocess_dir():
        prometheus_multiprocess.mark_process_dead(os.getpid())


atexit.register(_mark_dead)


# --- moving them -------------------------------------------------------------------------
def request_served(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
    HTTP_DURATION.labels(route=route).observe(seconds)


def settlement_committed_at() -> float:
    """The wall-clock time a wake carries from the settlement's commit (processes on one
    host, or hosts with synchronised clocks, compare it)."""
    return time.time()


def waiter_replied(committed_at: float | None) -> None:
    """A woken waiter has its reply: the wake latency since the settlement's commit."""
    if committed_at is not None:
        WAKE_LATENCY.observe(max(0.0, time.time() - committed_at))


def question_settled(status: str, seconds: float) -> None:
    SETTLE_SECONDS.labels(status=status).observe(max(0.0, seconds))


def webhook_delivered(result: str) -> None:
    """One webhook delivery attempt ended: result is one of WEBHOOK_RESULTS."""
    if result not in WEBHOOK_RESULTS:
        raise ValueError(f"unknown webhook result {result!r}")
    WEBHOOK_DELIVERIES.labels(result=result).inc()


def worker_job_done(result: str) -> None:
    """One worker job ended: result is one of WORKER_RESULTS."""
    if result not in WORKER_RESULTS:
        raise ValueError(f"unknown worker job result {result!r}")
    WORKER_JOBS.labels(result=result).inc()


# --- scraping ----------------------------------------------------------------------------
class PendingQuestionsCollector(Collector):
    """makima_questions_pending, counted in the database when scraped."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from mesh.models import Question

        family = GaugeMetricFamily(PENDING_NAME, "Questions pending (all owners).")
        family.add_metric([], float(Question.objects.pending().count()))
        yield family


def render() -> bytes:
    """Every metric in the Prometheus text format (all processes' with the multiprocess
    directory, this process's otherwise)."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_ProcessMetrics())
    registry.register(PendingQuestionsCollector())
    return generate_latest(registry)


class _ProcessMetrics(Collector):
    """This process's own metrics (the default registry), for a registry of our own."""

    def collect(self):
        return REGISTRY.collect()
