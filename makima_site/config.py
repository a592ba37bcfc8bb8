"""How the settings read the environment (only makima_site/settings*.py call these) and
where the project lives. A bad value stops the process at start with one line on stderr."""

import os
import sys
from pathlib import Path
from typing import NoReturn

BASE_DIR = Path(__file__).resolve().parent.parent


def refuse_to_start(reason: str) -> NoReturn:
    """A configuration the server must not run with: one line on stderr, exit status 1.

    Raised at import time, so manage.py and daphne stop before serving anything, and the
    operator reads the cause instead of a traceback.
    """
    sys.stderr.write(f"makima: refusing to start: {reason}\n")
    raise SystemExit(1)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        refuse_to_start(f"{name} must be a number, got {value!r}.")


def env_int(name: str, default: int) -> int:
    return int(env_float(name, default))


def env_ints(name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    """Comma-separated whole numbers, as many as the default has."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    parts = [part.strip() for part in value.split(",")]
    if len(parts) != len(default) or not all(part.isdigit() for part in parts):
        refuse_to_start(
            f"{name} must be {len(default)} comma-separated whole numbers, got {value!r}."
        )
    return tuple(int(part) for part in parts)


def env_int_list(name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    """Comma-separated whole numbers, any number of them (at least one)."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    parts = [part.strip() for part in value.split(",")]
    if not all(part.isdigit() for part in parts):
        refuse_to_start(f"{name} must be comma-separated whole numbers, got {value!r}.")
    return tuple(int(part) for part in parts)


def env_rate(name: str, default: str) -> str | None:
    """A throttle rate "N/period" (period s, min, hour, day); "off" switches the limit off."""
    value = (os.environ.get(name) or default).strip()
    if value.lower() in {"off", "none", "0"}:
        return None
    count, _, period = value.partition("/")
    if not count.isdigit() or int(count) < 1 or period[:1] not in {"s", "m", "h", "d"}:
        refuse_to_start(
            f"{name} must look like 30/min (a count, then s, min, hour or day), or off; "
            f"got {value!r}."
        )
    return value
