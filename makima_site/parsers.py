"""Request JSON: camelCase keys in, snake_case out, and nesting bounded.

Every body the site accepts is an object of scalars and lists of strings (two levels), so
nesting deeper than MAX_JSON_DEPTH is a client error: 400 VALIDATION_ERROR, checked
without recursion, before underscoreize (which recurses once per level and, on a deep body,
ran out of stack: a 500 with a traceback of hundreds of kilobytes). The DRF views and the
waiting endpoints (mesh/questions/steps.py) parse through `loads_camel`.
"""

import json
from typing import Any

from djangorestframework_camel_case.parser import CamelCaseJSONParser
from djangorestframework_camel_case.settings import api_settings as camel_settings
from djangorestframework_camel_case.util import underscoreize
from rest_framework.exceptions import ParseError, ValidationError

MAX_JSON_DEPTH = 32


def too_deep_error() -> ValidationError:
    return ValidationError(
        {"non_field_errors": [f"The body is nested more than {MAX_JSON_DEPTH} levels deep."]}
    )


def nesting_exceeds(data: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether lists/objects in `data` nest more than `limit` levels (iteratively)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def loads_camel(text: str) -> Any:
    """JSON text → data with snake_case keys. ValueError if it is not JSON; ValidationError
    (400 VALIDATION_ERROR) if it nests too deeply."""
    try:
        data = json.loads(text)
    except RecursionError:  # deeper than the C parser's stack: too deep by far
        raise too_deep_error() from None
    if nesting_exceeds(data):
        raise too_deep_error()
    return underscoreize(data, **camel_settings.JSON_UNDERSCOREIZE)


class JSONParser(CamelCaseJSONParser):
    """DRF's parser: camelCase JSON through loads_camel (malformed JSON stays a 400
    MALFORMED_REQUEST)."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", "utf-8")
        try:
            return loads_camel(stream.read().decode(encoding))
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
