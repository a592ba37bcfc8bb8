"""Settings for Makima mesh.

Every environment variable the project reads is read here, and documented in README.md.
With no environment at all the site runs embedded: SQLite file, in-memory channel layer,
DEBUG on. DATABASE_URL / REDIS_URL switch it to PostgreSQL (psycopg 3 pool) and Redis.
"""

import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def _refuse_to_start(reason: str) -> NoReturn:
    """A configuration the server must not run with: one line on stderr, exit status 1.

    Raised at import time, so manage.py and daphne stop before serving anything, and the
    operator reads the cause instead of a traceback.
    """
    sys.stderr.write(f"makima: refusing to start: {reason}\n")
    raise SystemExit(1)


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        _refuse_to_start(f"{name} must be a number, got {value!r}.")


def _env_int(name: str, default: int) -> int:
    return int(_env_float(name, default))


def _env_ints(name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    """Comma-separated whole numbers, as many as the default has."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    parts = [part.strip() for part in value.split(",")]
    if len(parts) != len(default) or not all(part.isdigit() for part in parts):
        _refuse_to_start(
            f"{name} must be {len(default)} comma-separated whole numbers, got {value!r}."
        )
    return tuple(int(part) for part in parts)


def env_rate(name: str, default: str) -> str | None:
    """A throttle rate "N/period" (period s, min, hour, day); "off" switches the limit off."""
    value = (os.environ.get(name) or default).strip()
    if value.lower() in {"off", "none", "0"}:
        return None
    count, _, period = value.partition("/")
    if not count.isdigit() or int(count) < 1 or period[:1] not in {"s", "m", "h", "d"}:
        _refuse_to_start(
            f"{name} must look like 30/min (a count, then s, min, hour or day), or off; "
            f"got {value!r}."
        )
    return value


DEBUG = _env_bool("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        _refuse_to_start(
            "DEBUG is off and SECRET_KEY is not set; set SECRET_KEY to a long random string."
        )
    SECRET_KEY = "django-insecure-makima-mesh-development-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",")
    if host.strip()
]
CSRF_TRUSTED_ORIGINS = [
    origin.strip()
    for origin in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",")
    if origin.strip()
]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "channels",
    "directives",
    "orders",
    "mesh",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "makima_site.middleware.AuthFailureThrottleMiddleware",
    "makima_site.middleware.BodySizeLimitMiddleware",
    "makima_site.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "makima_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Each capability keeps its templates beside its code (the apps' own dirs come too).
        "DIRS": [
            BASE_DIR / "makima_site" / "templates",
            BASE_DIR / "mesh" / "feed" / "templates",
            BASE_DIR / "mesh" / "owners" / "templates",
        ],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

ASGI_APPLICATION = "makima_site.asgi.application"
WSGI_APPLICATION = None

# --- Database -------------------------------------------------------------------------------
# CONN_MAX_AGE stays 0 under ASGI (persistent connections leak there); PostgreSQL uses
# psycopg 3's pool instead, so a burst of requests shares DB_POOL_MAX_SIZE connections.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
DB_POOL_MIN_SIZE = _env_int("DB_POOL_MIN_SIZE", 1)
DB_POOL_MAX_SIZE = _env_int("DB_POOL_MAX_SIZE", 10)
DB_POOL_TIMEOUT = _env_float("DB_POOL_TIMEOUT", 10.0)

# At most this many requests run in Django's (sync) views at once per process; the rest wait
# on the event loop, holding no thread, and get 503 after REQUEST_QUEUE_TIMEOUT seconds
# (makima_site/asgi_handler.py). The waiting endpoints (ask, poll) are not counted.
# The default, 3 × the pool: requests also wait on Redis and on the network, and with
# exactly the pool's size the soak queued (p50 1.6 s) where 3× kept it busy (p50 0.3 s).
MAX_CONCURRENT_REQUESTS = _env_int("MAX_CONCURRENT_REQUESTS", 3 * DB_POOL_MAX_SIZE)
REQUEST_QUEUE_TIMEOUT = _env_float("REQUEST_QUEUE_TIMEOUT", 30.0)
if MAX_CONCURRENT_REQUESTS < 1:
    _refuse_to_start("MAX_CONCURRENT_REQUESTS must be at least 1.")

if DATABASE_URL:
    _database = dj_database_url.parse(DATABASE_URL, conn_max_age=0)
    if _database["ENGINE"] == "django.db.backends.postgresql":
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
    _database = {
        # Django's SQLite backend, reusing closed connections (makima_site/sqlite/base.py).
        "ENGINE": "makima_site.sqlite",
        "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
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
DATABASES = {"default": _database}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channel layer --------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
CHANNEL_LAYERS: dict[str, dict[str, Any]]
if REDIS_URL:
    from redis.exceptions import ConnectionError as _RedisConnectionError

    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
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

# --- Passwords, i18n, static ----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static files (the admin's) are served by WhiteNoise, under daphne too. With DEBUG on they
# come straight from the apps (finders, re-read on change); with DEBUG off from STATIC_ROOT,
# hashed and compressed by `manage.py collectstatic` (`make run` runs it). Both are decided
# here from the environment's DEBUG, not from settings.DEBUG at request time (the test
# runner flips that).
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "mesh" / "feed" / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", "") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# Owners log in at /accounts/login/ (any active user with a password; the admin's login
# only admits staff) and land on their questions page.
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/questions/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# The server process's garbage collector (makima_site/asgi.py): thresholds of generations
# 0, 1, 2 (Python's defaults are 700, 10, 10); objects loaded at startup are frozen.
GC_THRESHOLDS = _env_ints("GC_THRESHOLDS", (5_000, 10, 10))

# Bodies over 1 MiB are refused with 413 (makima_site.middleware.BodySizeLimitMiddleware).
MAX_REQUEST_BODY_BYTES = 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

# --- Security with DEBUG off ------------------------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = _env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = _env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- REST framework ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "mesh.credentials.authentication.ApiTokenAuthentication",
        "mesh.credentials.authentication.OwnerSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["djangorestframework_camel_case.render.CamelCaseJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["makima_site.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "makima_site.filters.CamelCaseOrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "makima_site.pagination.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "makima_site.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "JSON_UNDERSCOREIZE": {"no_underscore_before_number": True},
    # Rate limits (makima_site/throttles.py); "off" switches one off. Counted in CACHES.
    "DEFAULT_THROTTLE_RATES": {
        "ask": env_rate("THROTTLE_ASK_RATE", "120/min"),
        "answer": env_rate("THROTTLE_ANSWER_RATE", "120/min"),
        "token_create": env_rate("THROTTLE_TOKEN_CREATE_RATE", "20/hour"),
        "auth_failure": env_rate("THROTTLE_AUTH_FAILURE_RATE", "30/min"),
    },
    # How many proxies in front of daphne append to X-Forwarded-For; 0 trusts only the
    # socket's address (a client could otherwise forge its address to dodge the limits).
    "NUM_PROXIES": _env_int("THROTTLE_NUM_PROXIES", 0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Makima mesh API",
    "DESCRIPTION": (
        "Autonomous agent tasks ask their owner questions and file follow-up orders; "
        "owners answer and manage them."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "CAMELIZE_NAMES": False,
    # The waiting endpoints are routed ahead of Django; this hook documents them.
    "PREPROCESSING_HOOKS": ["mesh.questions.schema.add_consumer_endpoints"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "drf_spectacular.contrib.djangorestframework_camel_case.camelize_serializer_fields",
        "makima_site.openapi.document_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "DirectiveStatusEnum": "directives.models.Directive.Status",
        "TaskStatusEnum": "mesh.models.Task.Status",
        "QuestionStatusEnum": "mesh.models.Question.Status",
        "OrderStatusEnum": "orders.models.Order.Status",
        "OrderPriorityEnum": "orders.models.Order.Priority",
        "OrderTypeEnum": "orders.models.Order.OrderType",
    },
}

# --- Mesh -----------------------------------------------------------------------------------
# How long blocking question requests wait (mesh/questions/policy.py). Tests set these tiny.
MESH_BLOCK_WAIT_SECONDS = _env_float("MESH_BLOCK_WAIT_SECONDS", 300)
MESH_AUTO_TIMEOUT_SECONDS = _env_float("MESH_AUTO_TIMEOUT_SECONDS", 30)
MESH_POLL_WAIT_SECONDS = _env_float("MESH_POLL_WAIT_SECONDS", 300)
# The question lifecycle (docs/architecture.md, "The question lifecycle"): a question's
# default time to live (an ask's ttlSeconds overrides it), how long an ask's Idempotency-Key
# is honoured, how many pending questions one task may hold, how many the pending list
# returns at most, and how often each server process sweeps expired questions.
MESH_QUESTION_TTL_SECONDS = _env_float("MESH_QUESTION_TTL_SECONDS", 604800)
MESH_IDEMPOTENCY_SECONDS = _env_float("MESH_IDEMPOTENCY_SECONDS", 86400)
MESH_MAX_PENDING_PER_TASK = _env_int("MESH_MAX_PENDING_PER_TASK", 100)
MESH_PENDING_LIST_LIMIT = _env_int("MESH_PENDING_LIST_LIMIT", 500)
MESH_EXPIRE_SWEEP_SECONDS = _env_float("MESH_EXPIRE_SWEEP_SECONDS", 60)
# GET /_ops/wakehub (makima_site/ops.py): hub and pool counters; off (404) unless set.
MESH_OPS_ENDPOINTS = _env_bool("MESH_OPS_ENDPOINTS", False)

# The owners' live feed websocket (/ws/v1/mesh/questions/). A client frame over
# MESH_WS_MAX_FRAME_BYTES gets a FRAME_TOO_LARGE error frame; a socket that sends more than
# MESH_WS_RATE_PER_SECOND frames a second, averaged over MESH_WS_RATE_WINDOW_SECONDS, is
# closed with 4429. Tests shrink the window.
MESH_WS_MAX_FRAME_BYTES = _env_int("MESH_WS_MAX_FRAME_BYTES", 64 * 1024)
MESH_WS_RATE_PER_SECOND = _env_float("MESH_WS_RATE_PER_SECOND", 20)
MESH_WS_RATE_WINDOW_SECONDS = _env_float("MESH_WS_RATE_WINDOW_SECONDS", 5)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.server": {"level": "WARNING"}},
}
