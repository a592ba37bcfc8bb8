"""The schema documents what the server answers (makima_site/openapi.py)."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from makima_site.openapi import _served_by_a_consumer

HTTP_METHODS = {"get", "put", "post", "delete", "patch"}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield f"{method.upper()} {path}", operation


def error_component(schema, response) -> dict:
    reference = response["content"]["application/json"]["schema"]["$ref"]
    return schema["components"]["schemas"][reference.rsplit("/", 1)[-1]]


def test_every_operation_documents_the_errors_any_request_can_get(schema):
    """404, 413, 429 and 503 are documented on every Django operation, in the error shape;
    the Channels consumers' operations document their own statuses, plus 429."""
    for name, operation in operations(schema):
        path = name.split(" ", 1)[1]
        codes = ("429",) if _served_by_a_consumer(path) else ("404", "413", "429", "503")
        for code in codes:
            component = error_component(schema, operation["responses"][code])
            assert {"code", "message"} <= set(component["required"]), (name, code)


def test_authenticated_operations_document_401_and_403(schema):
    """An operation with a security requirement can answer 401 and 403."""
    for name, operation in operations(schema):
        if operation.get("security") and not _served_by_a_consumer(name.split(" ", 1)[1]):
            assert {"401", "403"} <= set(operation["responses"]), name


def test_operations_with_a_body_document_400_and_415(schema):
    """Input can be invalid (400) or not JSON (415)."""
    for name, operation in operations(schema):
        if operation.get("requestBody") and not _served_by_a_consumer(name.split(" ", 1)[1]):
            assert {"400", "415"} <= set(operation["responses"]), name


def test_throttled_responses_document_retry_after(schema):
    """429 carries a Retry-After header."""
    for name, operation in operations(schema):
        assert "Retry-After" in operation["responses"]["429"]["headers"], name


def test_owner_token_schemes_are_alternatives(schema):
    """Bearer or X-Makima-Api-Key alone is enough: never both in one requirement."""
    for name, operation in operations(schema):
        for requirement in operation.get("security", []):
            assert not {"bearer_auth", "api_key"} <= set(requirement), name


def test_the_error_component_requires_code_and_message(schema):
    """The documented error body is the contract's."""
    error = schema["components"]["schemas"]["ErrorBody"]
    assert {"code", "message"} <= set(error["required"])
