"""Log formats: plain text (the default) or, with LOG_FORMAT=json, one JSON object a line.

Every JSON line has time (UTC, ISO 8601), level, logger and message; inside a request also
its requestId; an access line (logger makima.access, one per request, written by
makima_site/observability/asgi.py) also method, route, status, duration (seconds) and the
ownerId / taskId when the caller authenticated. Only these fields are written: a record's
other attributes (which could hold anything a caller passed in `extra`) never are, and no
request header is ever logged, so no token, tool key or Authorization value reaches a line.
"""

import json
import logging
from datetime import UTC, datetime
from typing import Any

from makima_site.observability.context import current

ACCESS_LOGGER = "makima.access"
# The access line's fields, in the order they are written.
ACCESS_FIELDS = ("method", "route", "status", "duration", "ownerId", "taskId")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "requestId", None)
        if request_id is None:
            info = current()
            request_id = info.request_id if info is not None else None
        if request_id is not None:
            line["requestId"] = request_id
        for name in ACCESS_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """settings.LOGGING for LOG_FORMAT ("plain" or "json") and LOG_LEVEL."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {"()": JsonFormatter},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if log_format == "json" else "plain",
            }
        },
        "root": {"handlers": ["console"], "level": level},
        # Django's own defaults give "django" (with DEBUG on) and "django.server" a plain
        # console handler of their own: only the root's handler writes, in the chosen format.
        "loggers": {
            "django": {"handlers": [], "level": level, "propagate": True},
            "django.server": {"handlers": [], "level": "WARNING", "propagate": True},
            # The access lines are the request log: written whatever LOG_LEVEL says.
            ACCESS_LOGGER: {"level": "INFO"},
        },
    }
