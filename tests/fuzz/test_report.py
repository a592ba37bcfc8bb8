"""fuzz/report.py: per-operation counts from schemathesis' NDJSON events, and which
operations never answered 2xx (the run fails on those)."""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load(name: str, monkeypatch=None):
    if monkeypatch is not None:
        monkeypatch.setenv("MESH_FUZZ_BASE_URL", "http://127.0.0.1:1")
        monkeypatch.setenv("MESH_FUZZ_TOKEN", "t")
        monkeypatch.setenv("MESH_FUZZ_TOOL_KEY", "k")
    spec = importlib.util.spec_from_file_location(f"fuzz_{name}", ROOT / "fuzz" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def scenario(label: str, calls: list[tuple[str, str, int | None]]) -> dict:
    cases, interactions = {}, {}
    for number, (method, path, status) in enumerate(calls):
        case_id = f"c{number}"
        cases[case_id] = {"value": {"method": method, "path": path}}
        interactions[case_id] = {
            "request": {"method": method, "uri": f"http://x{path}"},
            "response": None if status is None else {"status_code": status},
        }
    recorder = {"label": label, "cases": cases, "interactions": interactions}
    return {"ScenarioFinished": {"status": "success", "recorder": recorder}}


def test_counts_each_operation_by_status_class_including_stateful_scenarios(tmp_path):
    report = load("report")
    events = tmp_path / "events.ndjson"
    lines = [
        {"PhaseStarted": {}},
        scenario("GET /a/{id}/", [("GET", "/a/{id}/", 200), ("GET", "/a/{id}/", 404)]),
        # A stateful scenario records several operations; each call counts for its own.
        scenario(
            "stateful", [("POST", "/a/", 201), ("GET", "/a/{id}/", 500), ("GET", "/a/", None)]
        ),
    ]
    events.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    reached = report.count(events)
    assert (reached["GET /a/{id}/"].requests, reached["GET /a/{id}/"].ok) == (3, 1)
    assert reached["GET /a/{id}/"].client_errors == 1
    assert reached["GET /a/{id}/"].server_errors == 1
    assert reached["POST /a/"].ok == 1
    assert "GET /a/" not in reached  # a call with no response (a network error) is not counted


def test_an_operation_with_no_2xx_is_unreached(tmp_path):
    report = load("report")
    reached = {"GET /a/": report.Reached(requests=5, ok=0, client_errors=5)}
    reached["POST /a/"] = report.Reached(requests=2, ok=1, client_errors=1)
    assert report.unreached(reached, ["GET /a/", "POST /a/", "DELETE /a/{id}/"]) == [
        "GET /a/",
        "DELETE /a/{id}/",
    ]


def test_hooks_know_which_collection_a_path_id_belongs_to(monkeypatch):
    hooks = load("hooks", monkeypatch)
    assert hooks.collection_of("/api/v1/mesh/questions/{question_id}/answer") == "questions"
    assert hooks.collection_of("/api/v1/mesh/supervisor/questions/{question_id}") == "questions"
    assert hooks.collection_of("/api/v1/questions/{id}/decline/") == "questions"
    assert hooks.collection_of("/api/v1/tasks/{id}/rotate-key/") == "tasks"
    assert hooks.collection_of("/api/v1/tasks/") is None
