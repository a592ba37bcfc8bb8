"""Settings for Makima mesh.

Every environment variable the project reads is read here or in settings_data.py (the
data layer), through the parsers of makima_site/config.py, and documented in docs/configuration.md.
With no environment at all the site runs embedded: SQLite file, in-memory channel layer,
DEBUG on. DATABASE_URL / REDIS_URL switch it to PostgreSQL (psycopg 3 pool) and Redis.
"""

import os
from pathlib import Path

from makima_site.config import (
    BASE_DIR,
    env_bool,
    env_float,
    env_int,
    env_int_list,
    env_ints,
    env_rate,
    refuse_to_start,
)

# The data layer (database, request slots, channel layer, cache) is in settings_data.py;
# its names are re-exported ("X as X") because Django reads them from this module.
from makima_site.settings_data import CACHES as CACHES
from makima_site.settings_data import CHANNEL_LAYERS as CHANNEL_LAYERS
from makima_site.settings_data import DATABASE_URL as DATABASE_URL
from makima_site.settings_data import DATABASES as DATABASES
from makima_site.settings_data import DB_POOL_MAX_SIZE as DB_POOL_MAX_SIZE
from makima_site.settings_data import DB_POOL_MIN_SIZE as DB_POOL_MIN_SIZE
from makima_site.settings_data import DB_POOL_TIMEOUT as DB_POOL_TIMEOUT
from makima_site.settings_data import DEFAULT_AUTO_FIELD as DEFAULT_AUTO_FIELD
from makima_site.settings_data import LOGIN_QUEUE_TIMEOUT as LOGIN_QUEUE_TIMEOUT
from makima_site.settings_data import MAX_CONCURRENT_LOGINS as MAX_CONCURRENT_LOGINS
from makima_site.settings_data import MAX_CONCURRENT_REQUESTS as MAX_CONCURRENT_REQUESTS
from makima_site.settings_data import REDIS_URL as REDIS_URL
from makima_site.settings_data import REQUEST_QUEUE_TIMEOUT as REQUEST_QUEUE_TIMEOUT

DEBUG = env_bool("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        refuse_to_start(
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
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served from our static files
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
    "makima_site.middleware.ApiNotFoundMiddleware",  # JSON 404 under /api/, DEBUG or not
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "makima_site.observability.routes.RouteMiddleware",  # the route label of /metrics, logs
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
GC_THRESHOLDS = env_ints("GC_THRESHOLDS", (5_000, 10, 10))

# Bodies over 1 MiB are refused with 413 (makima_site.middleware.BodySizeLimitMiddleware).
MAX_REQUEST_BODY_BYTES = 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

# --- Security with DEBUG off ------------------------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
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
    "NUM_PROXIES": env_int("THROTTLE_NUM_PROXIES", 0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Makima mesh API",
    "DESCRIPTION": (
        "Autonomous agent tasks ask their owner questions and file follow-up orders; "
        "owners answer and manage them."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # /api/docs/ and /api/redoc/ load nothing from outside the site (drf-spectacular-sidecar).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "CAMELIZE_NAMES": False,
    # The waiting endpoints are routed ahead of Django; this hook documents them.
    "PREPROCESSING_HOOKS": ["mesh.questions.schema.add_consumer_endpoints"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "drf_spectacular.contrib.djangorestframework_camel_case.camelize_serializer_fields",
        "makima_site.openapi.document_error_responses",
        "makima_site.openapi_links.add_links",
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
MESH_BLOCK_WAIT_SECONDS = env_float("MESH_BLOCK_WAIT_SECONDS", 300)
MESH_AUTO_TIMEOUT_SECONDS = env_float("MESH_AUTO_TIMEOUT_SECONDS", 30)
MESH_POLL_WAIT_SECONDS = env_float("MESH_POLL_WAIT_SECONDS", 300)
# The question lifecycle (docs/architecture.md, "The question lifecycle"): a question's
# default time to live (an ask's ttlSeconds overrides it), how long an ask's Idempotency-Key
# is honoured, how many pending questions one task may hold, how many the pending list
# returns at most, and how often each server process sweeps expired questions.
MESH_QUESTION_TTL_SECONDS = env_float("MESH_QUESTION_TTL_SECONDS", 604800)
MESH_IDEMPOTENCY_SECONDS = env_float("MESH_IDEMPOTENCY_SECONDS", 86400)
MESH_MAX_PENDING_PER_TASK = env_int("MESH_MAX_PENDING_PER_TASK", 100)
MESH_PENDING_LIST_LIMIT = env_int("MESH_PENDING_LIST_LIMIT", 500)
MESH_EXPIRE_SWEEP_SECONDS = env_float("MESH_EXPIRE_SWEEP_SECONDS", 60)
# GET /_ops/wakehub (makima_site/ops.py): hub and pool counters; off (404) unless set.
MESH_OPS_ENDPOINTS = env_bool("MESH_OPS_ENDPOINTS", False)

# The owners' live feed websocket (/ws/v1/mesh/questions/). A client frame over
# MESH_WS_MAX_FRAME_BYTES gets a FRAME_TOO_LARGE error frame; a socket that sends more than
# MESH_WS_RATE_PER_SECOND frames a second, averaged over MESH_WS_RATE_WINDOW_SECONDS, is
# closed with 4429. Tests shrink the window.
MESH_WS_MAX_FRAME_BYTES = env_int("MESH_WS_MAX_FRAME_BYTES", 64 * 1024)
MESH_WS_RATE_PER_SECOND = env_float("MESH_WS_RATE_PER_SECOND", 20)
MESH_WS_RATE_WINDOW_SECONDS = env_float("MESH_WS_RATE_WINDOW_SECONDS", 5)
# The questions page (/questions/): how long a card shows its outcome ("Answered: yes — the
# task has it") after the owner answers or declines, before it moves to History. Tests
# shrink it.
MESH_PAGE_OUTCOME_SECONDS = env_float("MESH_PAGE_OUTCOME_SECONDS", 5)

# --- Background worker, webhooks and notifications (docs/notifications.md) ----------------------
# The worker is `manage.py db_worker` (django_tasks_db); the worker app comes first so its
# db_worker (which puts the periodic jobs on the schedule) is the one Django runs.
INSTALLED_APPS += ["worker", "django_tasks", "django_tasks_db", "notify"]
TASKS = {"default": {"BACKEND": "django_tasks_db.backend.DatabaseBackend"}}
# Periodic jobs the worker schedules itself: task path -> interval (seconds, or the name of
# the setting holding it; 0 turns a job off).
WORKER_PERIODIC_TASKS = {
    "mesh.questions.jobs.expire_due_questions": "MESH_EXPIRE_SWEEP_SECONDS",
    "notify.jobs.pump_due": "NOTIFY_PUMP_SECONDS",
    "notify.jobs.send_reminders": "NOTIFY_REMINDER_SWEEP_SECONDS",
}
WORKER_STALE_SECONDS = env_float("WORKER_STALE_SECONDS", 600)
WEBHOOK_RETRY_SCHEDULE = env_int_list(
    "WEBHOOK_RETRY_SCHEDULE", (5, 300, 1800, 7200, 18000, 36000, 36000)
)
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 10)
WEBHOOK_LEASE_SECONDS = env_float("WEBHOOK_LEASE_SECONDS", 60)
WEBHOOK_SECRET_OVERLAP_SECONDS = env_float("WEBHOOK_SECRET_OVERLAP_SECONDS", 86400)
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env_bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", DEBUG)
NOTIFY_PUMP_SECONDS = env_float("NOTIFY_PUMP_SECONDS", 15)
NOTIFY_REMINDER_SWEEP_SECONDS = env_float("NOTIFY_REMINDER_SWEEP_SECONDS", 60)
NOTIFY_EXPIRING_SOON_SECONDS = env_float("NOTIFY_EXPIRING_SOON_SECONDS", 3600)
NOTIFY_BASE_URL = os.environ.get("NOTIFY_BASE_URL", "http://127.0.0.1:8000")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "makima@localhost")
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)

# --- Observability (makima_site/observability/, docs/observability.md) ----------------------
# LOG_FORMAT=json: every log line one JSON object, and one access line per request.
# METRICS_TOKEN: GET /metrics with this bearer token (404 when unset). PROMETHEUS_MULTIPROC_DIR
# (read by prometheus_client itself): the directory the processes of a host share metrics in.
from makima_site.observability.logging import logging_config  # noqa: E402

LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain").strip().lower() or "plain"
if LOG_FORMAT not in ("plain", "json"):
    refuse_to_start(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
PROMETHEUS_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
LOGGING = logging_config(LOG_FORMAT, os.environ.get("LOG_LEVEL", "INFO"))
