from djangorestframework_camel_case.parser import CamelCaseJSONParser
from rest_framework.exceptions import ParseError


class JSONParser(CamelCaseJSONParser):
    """camelCase JSON, where nesting deeper than the parser's stack is a 400, not a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the body is nested too deeply.") from exc
