"""deploy/grafana-dashboard.json: it parses, and every panel queries metrics this service
exports (by their exposed names)."""

import json
import re
from pathlib import Path

from prometheus_client import Counter, Gauge, Histogram

from makima_site.observability import metrics

DASHBOARD = Path(__file__).resolve().parents[3] / "deploy" / "grafana-dashboard.json"


def exported_names() -> set[str]:
    names = {metrics.PENDING_NAME}
    for value in vars(metrics).values():
        if isinstance(value, Histogram):
            names |= {f"{value._name}_{s}" for s in ("bucket", "sum", "count")}
        elif isinstance(value, Counter):
            names |= {f"{value._name}_total", f"{value._name}_created"}
        elif isinstance(value, Gauge):
            names.add(value._name)
    return names


def test_the_dashboard_parses_and_each_panel_queries_exported_metrics():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["title"] and dashboard["panels"]
    exported = exported_names()
    for panel in dashboard["panels"]:
        exprs = [target["expr"] for target in panel["targets"]]
        assert exprs, panel["title"]
        for expr in exprs:
            used = set(re.findall(r"\bmakima_\w+", expr))
            assert used, (panel["title"], expr)
            assert used <= exported, (panel["title"], used - exported)


def test_the_dashboard_covers_what_the_issue_lists():
    text = DASHBOARD.read_text()
    for name in (
        "makima_http_requests_total",
        "makima_http_request_duration_seconds_bucket",
        "makima_questions_pending",
        "makima_waiters",
        "makima_wake_latency_seconds_bucket",
        "makima_question_settle_seconds_bucket",
        "makima_webhook_deliveries_total",
    ):
        assert name in text
