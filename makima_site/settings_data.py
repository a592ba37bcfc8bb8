"""The data layer's settings, imported by makima_site/settings.py: the database (SQLite
embedded, or PostgreSQL through psycopg 3's pool), the request slots that share it, the
channel layer and the cache (in memory embedded, Redis with REDIS_URL)."""

import os
from typing import Any

import dj_database_url

from makima_site.config import BASE_DIR, env_float, env_int, refuse_to_start

# --- Database -------------------------------------------------------------------------------
# CONN_MAX_AGE stays 0 under ASGI (persistent connections leak there); PostgreSQL uses
# psycopg 3's pool instead, so a burst of requests shares DB_POOL_MAX_SIZE connections.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
DB_POOL_MIN_SIZE = env_int("DB_POOL_MIN_SIZE", 1)
DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 10)
DB_POOL_TIMEOUT = env_float("DB_POOL_TIMEOUT", 10.0)

REQUEST_QUEUE_TIMEOUT = env_float("REQUEST_QUEUE_TIMEOUT", 30.0)


def _sqlite(name: str) -> dict[str, Any]:
    """Every SQLite configuration (the embedded default, or DATABASE_URL=sqlite:///…)."""
    return {
        # Django's SQLite backend, reusing closed connections (makima_site/sqlite/base.py).
        "ENGINE": "makima_site.sqlite",
        "NAME": name,
        # WAL + IMMEDIATE + a busy timeout: a burst of concurrent writers queues instead of
        # failing with "database is locked".
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
        # The test database is a file too: an in-memory shared-cache database answers
        # concurrent writers from worker threads with "database table is locked" at once
        # instead of honouring the busy timeout, unlike the file the site really uses.
        "TEST": {"NAME": os.environ.get("SQLITE_TEST_PATH", str(BASE_DIR / "test-db.sqlite3"))},
    }


_database: dict[str, Any]
if DATABASE_URL:
    _database = dict(dj_database_url.parse(DATABASE_URL, conn_max_age=0))
    if _database["ENGINE"] == "django.db.backends.sqlite3":
        _database = _sqlite(_database["NAME"])
    elif _database["ENGINE"] == "django.db.backends.postgresql":
        _database.setdefault("OPTIONS", {})
        _database["OPTIONS"]["pool"] = {
            "min_size": DB_POOL_MIN_SIZE,
            "max_size": DB_POOL_MAX_SIZE,
            "timeout": DB_POOL_TIMEOUT,
        }
        _database["OPTIONS"].setdefault("connect_timeout", 5)
        # Django hands psycopg_pool `check=ConnectionPool.check_connection` only with health
        # checks on: a connection broken by a database restart is then replaced when it is
        # taken from the pool, instead of failing the next request that gets it.
        _database["CONN_HEALTH_CHECKS"] = True
else:
    _database = _sqlite(os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")))
DATABASES = {"default": _database}

# At most this many requests run in Django's (sync) views at once per process, each on one
# of this many worker threads; the rest wait on the event loop, holding no thread, and get
# 503 after REQUEST_QUEUE_TIMEOUT seconds (makima_site/asgi_handler.py). The waiting
# endpoints (ask, poll) are not counted. The defaults (bench/README.md, "Throughput"):
# SQLite, 4 per core: a request's only waits are short (a local file), and more threads
# only contend for the GIL; PostgreSQL, 3 x the pool: requests also wait on the database
# and Redis over the network, and the soak queued with 10 (p50 1.6 s) but not with 30.
_CORES = max(1, len(os.sched_getaffinity(0)))
_IS_POSTGRESQL = _database["ENGINE"] == "django.db.backends.postgresql"
MAX_CONCURRENT_REQUESTS = env_int(
    "MAX_CONCURRENT_REQUESTS", 3 * DB_POOL_MAX_SIZE if _IS_POSTGRESQL else 4 * _CORES
)
if MAX_CONCURRENT_REQUESTS < 1:
    refuse_to_start("MAX_CONCURRENT_REQUESTS must be at least 1.")
# Of those, at most MAX_CONCURRENT_LOGINS login posts (each hashes a password) per process;
# the others wait for a login slot, holding no worker, and get 429 after
# LOGIN_QUEUE_TIMEOUT seconds (makima_site/asgi_handler.py).
MAX_CONCURRENT_LOGINS = env_int("MAX_CONCURRENT_LOGINS", 2)
LOGIN_QUEUE_TIMEOUT = env_float("LOGIN_QUEUE_TIMEOUT", 5.0)
if not 1 <= MAX_CONCURRENT_LOGINS <= MAX_CONCURRENT_REQUESTS:
    refuse_to_start("MAX_CONCURRENT_LOGINS must be at least 1 and at most MAX_CONCURRENT_REQUESTS.")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channel layer --------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
CHANNEL_LAYERS: dict[str, dict[str, Any]]
if REDIS_URL:
    from redis.exceptions import ConnectionError as _RedisConnectionError

    CHANNEL_LAYERS = {
        "default": {
            # channels_redis with a bounded, queued pool (makima_site/channel_layer.py).
            "BACKEND": "makima_site.channel_layer.RedisChannelLayer",
            "CONFIG": {
                # redis-py 8 reads with a 5 s socket timeout by default, exactly the
                # BZPOPMIN timeout channels_redis uses in receive(): every idle receive
                # then races to "Timeout reading from ...". Give reads a margin.
                # retry_on_error: a pooled connection that Redis closed (a restart) fails
                # its next command; retry it once on a fresh connection instead of failing
                # the wake or the health check that happened to get it.
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": 15,
                        "retry_on_error": [_RedisConnectionError],
                    }
                ],
                "prefix": os.environ.get("CHANNEL_LAYER_PREFIX", "makima"),
                "capacity": 1000,
                "expiry": 60,
                "group_expiry": 86400,
                # Each process's wake hub listener receives every answer's wake: never let
                # a burst of answers fill it (a full channel drops the wake). It shares one
                # Redis list with every process-local channel ("specific.*!", see
                # mesh/wakeups/transports.py), so the capacity is that list's.
                "channel_capacity": {"specific.*!*": 10000},
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            # The wake hub's listener receives every answer's wake; 100 (the default) can
            # fill up in a burst. (This layer mishandles a channel_capacity dict.)
            "CONFIG": {"capacity": 100000},
        }
    }

# --- Cache (throttle counters) ------------------------------------------------------------
# Redis when REDIS_URL is set, so rate limits hold across every daphne process; otherwise
# local memory, which is right for the single embedded process.
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache with one connection pool per process (makima_site/cache.py).
            "BACKEND": "makima_site.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "makima-cache"),
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "makima",
            "KEY_PREFIX": "makima-cache",
        }
    }
