"""makima_site.sqlite: Django's SQLite backend keeps closed connections for reuse."""

import threading

import pytest
from django.db import connection, connections, transaction

from makima_site.sqlite import base as sqlite_base

pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the embedded mode's backend (no DATABASE_URL)"
)


def _raw_connection_in_thread():
    """The sqlite3 connection a fresh thread gets, closed again when the thread is done."""
    seen = {}

    def run():
        connections["default"].ensure_connection()
        seen["raw"] = connections["default"].connection
        connections["default"].close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return seen["raw"]


@pytest.mark.django_db(transaction=True)
def test_a_closed_connection_is_reused_by_the_next_thread():
    """Per-request threads no longer open (and close) a connection each."""
    sqlite_base.discard_idle()
    first = _raw_connection_in_thread()
    second = _raw_connection_in_thread()
    assert second is first
    assert second.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.django_db(transaction=True)
def test_an_open_transaction_is_rolled_back_before_the_connection_is_kept():
    sqlite_base.discard_idle()
    connection.ensure_connection()
    raw = connection.connection
    raw.execute("CREATE TEMP TABLE leftover (x integer)")
    raw.execute("BEGIN")
    raw.execute("INSERT INTO leftover VALUES (1)")
    assert raw.in_transaction
    connection.close()
    reused = _raw_connection_in_thread()
    assert reused is raw
    assert not reused.in_transaction
    assert reused.execute("SELECT count(*) FROM leftover").fetchone() == (0,)


@pytest.mark.django_db(transaction=True)
def test_a_connection_closed_inside_an_atomic_block_is_not_kept():
    sqlite_base.discard_idle()
    with transaction.atomic():
        connection.ensure_connection()
        raw = connection.connection
        connection.close()
    connection.close()
    assert _raw_connection_in_thread() is not raw


@pytest.mark.django_db(transaction=True)
def test_at_most_max_idle_connections_are_kept():
    sqlite_base.discard_idle()
    wrappers = []
    barrier = threading.Barrier(sqlite_base.MAX_IDLE_CONNECTIONS + 3)

    def run():
        connections["default"].ensure_connection()
        barrier.wait()
        wrappers.append(connections["default"].connection)
        connections["default"].close()

    threads = [threading.Thread(target=run) for _ in range(barrier.parties)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    key = connection.get_connection_params()["database"]
    assert len({id(raw) for raw in wrappers}) == barrier.parties
    assert sqlite_base.idle_count(key) == sqlite_base.MAX_IDLE_CONNECTIONS
    sqlite_base.discard_idle(key)
    assert sqlite_base.idle_count(key) == 0
