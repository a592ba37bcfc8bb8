"""The OpenAPI schema describes the ask/poll consumers truthfully, though Django never
routes them (mesh.questions.schema.add_consumer_endpoints)."""

import pytest
from django.urls import Resolver404, resolve
from rest_framework.test import APIClient

ASK = "/api/v1/mesh/supervisor/questions"
POLL = "/api/v1/mesh/supervisor/questions/{question_id}/poll"


@pytest.fixture
def schema(db):
    return APIClient().get("/api/schema/?format=json").json()


def test_ask_is_documented_with_the_consumers_status_codes(schema):
    """POST ask: the request body is AskQuestionRequest and the statuses are exactly those
    the consumer answers; the credential is the tool key."""
    operation = schema["paths"][ASK]["post"]
    assert set(operation["responses"]) == {
        "200", "400", "401", "403", "404", "405", "408", "413", "422", "429"
    }  # fmt: skip
    assert operation["security"] == [{"tool_key": []}]
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.endswith("/AskQuestionRequest")
    request = schema["components"]["schemas"]["AskQuestionRequest"]
    assert set(request["properties"]) == {
        "question", "choices", "context", "timeoutSeconds", "phaseguard", "multiSelect",
        "nonBlocking", "questionType", "ttlSeconds",
    }  # fmt: skip
    assert request["required"] == ["question"]
    reply = operation["responses"]["408"]["content"]["application/json"]["schema"]["$ref"]
    assert reply.endswith("/AskQuestionResult")
    result = schema["components"]["schemas"]["AskQuestionResult"]
    assert set(result["properties"]) == {
        "questionId", "response", "timedOut", "stillPending", "status", "reason"
    }  # fmt: skip


def test_poll_is_documented_with_the_consumers_status_codes(schema):
    """GET poll: 200 / 401 / 403 / 404 / 405 / 429, a UUID path parameter, the tool key."""
    operation = schema["paths"][POLL]["get"]
    assert set(operation["responses"]) == {"200", "401", "403", "404", "405", "429"}
    assert operation["security"] == [{"tool_key": []}]
    assert operation["parameters"][0]["schema"] == {"type": "string", "format": "uuid"}
    assert "requestBody" not in operation


def test_documentation_views_are_never_routed_by_django():
    """Only the Channels router serves these paths; Django's URLconf has no stub for them."""
    for path in (ASK, "/api/v1/mesh/supervisor/questions/x/poll"):
        with pytest.raises(Resolver404):
            resolve(path)


def test_owner_question_endpoints_are_documented(schema):
    """List, detail and answer appear with owner credentials and their error statuses."""
    assert set(schema["paths"]["/api/v1/mesh/questions"]["get"]["responses"]) >= {"200", "401"}
    answer = schema["paths"]["/api/v1/mesh/questions/{question_id}/answer"]["post"]
    site_wide = {"406", "413", "429", "503"}  # makima_site.openapi, on every Django operation
    assert set(answer["responses"]) == {"200", "400", "401", "403", "404", "409", "415"} | site_wide
    detail = schema["paths"]["/api/v1/mesh/questions/{question_id}"]["get"]
    assert set(detail["responses"]) == {"200", "401", "403", "404"} | site_wide
