"""Django's SQLite backend, with closed connections kept for reuse (the embedded mode).

Under ASGI every request runs in a fresh worker thread, and Django connections are per
thread with CONN_MAX_AGE 0, so each request opened a new SQLite connection (register the SQL
functions, run the PRAGMAs) and closed it again; closing the last connection of a WAL
database also checkpoints and deletes the WAL file. Measured on a 2-core machine that was
~20% of a plain request. Here close() hands the sqlite3 connection (opened with
check_same_thread=False, as Django always does) to a small per-file idle list and the next
connect() in any thread takes it back, which is what psycopg's pool does for PostgreSQL.

A connection is only kept when it is clean: outside an atomic block, with no open
transaction (rolled back otherwise). Everything else is closed for real.
"""

import threading

from django.db.backends.sqlite3 import base

MAX_IDLE_CONNECTIONS = 8

_idle: dict[str, list] = {}
_idle_lock = threading.Lock()


def idle_count(name: str) -> int:
    """How many closed connections of this database file are kept for reuse."""
    with _idle_lock:
        return len(_idle.get(name, []))


def discard_idle(name: str | None = None) -> None:
    """Close the kept connections (of one database file, or all): the file is going away."""
    with _idle_lock:
        names = [name] if name is not None else list(_idle)
        connections = [conn for key in names for conn in _idle.pop(key, [])]
    for conn in connections:
        conn.close()


class DatabaseCreation(base.DatabaseCreation):
    def _create_test_db(self, verbosity, autoclobber, keepdb=False):
        discard_idle(self._get_test_db_name())
        return super()._create_test_db(verbosity, autoclobber, keepdb)

    def _destroy_test_db(self, test_database_name, verbosity):
        discard_idle(test_database_name)
        return super()._destroy_test_db(test_database_name, verbosity)


class DatabaseWrapper(base.DatabaseWrapper):
    creation_class = DatabaseCreation

    def _reuse_key(self, conn_params=None) -> str | None:
        if self.is_in_memory_db():
            return None
        return str((conn_params or self.get_connection_params())["database"])

    def get_new_connection(self, conn_params):
        key = self._reuse_key(conn_params)
        if key is not None:
            with _idle_lock:
                idle = _idle.get(key)
                conn = idle.pop() if idle else None
            if conn is not None:
                return conn
        return super().get_new_connection(conn_params)

    def _close(self):
        conn = self.connection
        key = self._reuse_key()
        if conn is None or key is None or self.in_atomic_block:
            return super()._close()
        if conn.in_transaction:
            try:
                conn.rollback()
            except base.Database.Error:
                return super()._close()
        with _idle_lock:
            idle = _idle.setdefault(key, [])
            if len(idle) < MAX_IDLE_CONNECTIONS:
                idle.append(conn)
                return None
        return super()._close()
