"""makima_site/observability: request ids, JSON log lines, one access line per request, and
no secret in any line."""

import json
import logging
import re

import pytest

from makima_site.observability.logging import ACCESS_LOGGER, JsonFormatter
from tests.mesh.conftest import ask, call

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def json_logs(settings, caplog):
    settings.LOG_FORMAT = "json"
    caplog.set_level(logging.DEBUG)
    return caplog


def access_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == ACCESS_LOGGER]


def lines(caplog) -> list[dict]:
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records]


async def test_each_request_logs_exactly_one_access_line(json_logs, owner_token):
    for _ in range(3):
        assert (await call("GET", "/api/v1/directives/", token=owner_token)).status == 200
    await call("GET", "/no/such/page")
    access = [line for line in lines(json_logs) if line["logger"] == ACCESS_LOGGER]
    assert len(access) == 4
    assert len({line["requestId"] for line in access}) == 4
    first = access[0]
    assert first["method"] == "GET"
    assert first["route"] == "/api/v1/directives/"
    assert first["status"] == 200
    assert 0 < first["duration"] < 30
    assert isinstance(first["ownerId"], int)
    assert first["level"] == "INFO"
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$", first["time"])
    assert access[3]["route"] == "unmatched"
    assert access[3]["status"] == 404


async def test_the_request_id_is_echoed_or_generated(json_logs, owner_token):
    given = await call(
        "GET", "/api/v1/directives/", token=owner_token, headers=[(b"x-request-id", b"abc-123")]
    )
    assert given.headers[b"x-request-id"] == b"abc-123"
    made = await call("GET", "/api/v1/directives/", token=owner_token)
    assert re.fullmatch(rb"[0-9a-f]{32}", made.headers[b"x-request-id"])
    # Not a sane id (too long, odd characters): replaced.
    odd = await call("GET", "/healthz", headers=[(b"x-request-id", b"a b\x01" * 50)])
    assert re.fullmatch(rb"[0-9a-f]{32}", odd.headers[b"x-request-id"])
    ids = [r.requestId for r in access_records(json_logs)]
    assert ids == ["abc-123", made.headers[b"x-request-id"].decode(), ids[2]]
    assert ids[2] == odd.headers[b"x-request-id"].decode()


async def test_the_waiting_endpoints_log_their_access_line_with_the_task(json_logs, task_and_key):
    task, key = task_and_key
    reply = await ask(key, {"question": "Ship?", "nonBlocking": True})
    assert reply.status == 200
    (line,) = [line for line in lines(json_logs) if line["logger"] == ACCESS_LOGGER]
    assert line["route"] == "/api/v1/mesh/supervisor/questions"
    assert line["method"] == "POST"
    assert line["status"] == 200
    assert line["taskId"] == str(task.pk)
    assert line["ownerId"] == task.owner_id
    assert line["requestId"] == reply.headers[b"x-request-id"].decode()


async def test_plain_format_writes_no_access_line(settings, caplog, owner_token):
    settings.LOG_FORMAT = "plain"
    caplog.set_level(logging.DEBUG)
    await call("GET", "/api/v1/directives/", token=owner_token)
    assert access_records(caplog) == []


async def test_no_secret_reaches_a_log_line(json_logs, owner_token, task_and_key):
    _, key = task_and_key
    await call("GET", "/api/v1/directives/", token=owner_token)
    await call("GET", "/api/v1/directives/", token=owner_token + "x")  # 401, logged by Django
    await ask(key, {"question": "Ship?", "nonBlocking": True})
    await ask(key + "x", {"question": "Ship?", "nonBlocking": True})  # 401
    text = "\n".join(json.dumps(line) for line in lines(json_logs))
    assert len(access_records(json_logs)) == 4
    for secret in (owner_token, key, "Bearer", "authorization", "Authorization"):
        assert secret not in text


def test_a_record_becomes_one_json_line_with_only_the_known_fields():
    record = logging.LogRecord("mesh.x", logging.WARNING, __file__, 1, "hello %s", ("you",), None)
    record.password = "hunter2"  # a stray extra is never written
    record.status = 503
    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "hello you"
    assert parsed["level"] == "WARNING"
    assert parsed["logger"] == "mesh.x"
    assert parsed["status"] == 503
    assert "hunter2" not in line


def test_an_exception_stays_inside_its_json_line():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert "RuntimeError: boom" in json.loads(line)["exception"]
