"""The OpenAPI schema validates and names the security schemes the contract asks for."""

import json

from django.core.management import call_command
from rest_framework.test import APIClient

OWNER_SCHEMES = {"bearer_auth", "api_key", "cookieAuth"}


def security_names(operation) -> set[str]:
    return {name for requirement in operation.get("security", []) for name in requirement}


def test_schema_validates_without_warnings(tmp_path, db):
    """`manage.py spectacular --validate --fail-on-warn` passes (what `make schema` runs)."""
    target = tmp_path / "schema.json"
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json",
        "--file", str(target),
    )  # fmt: skip
    schemes = json.loads(target.read_text())["components"]["securitySchemes"]
    assert schemes["bearer_auth"]["type"] == "http" and schemes["bearer_auth"]["scheme"] == "bearer"
    assert schemes["api_key"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Makima-Api-Key",
        "description": "Owner API token.",
    }


def test_operations_declare_the_right_credentials(db):
    """Owner endpoints declare owner credentials only; tool-key endpoints tool_key only
    (X-Makima-Tool-Key); component fields are camelCase."""
    schema = APIClient().get("/api/schema/?format=json").json()
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            names = security_names(operation)
            if path.startswith("/api/v1/mesh/supervisor/"):
                assert names == {"tool_key"}, path
                assert schema["components"]["securitySchemes"]["tool_key"]["name"] == (
                    "X-Makima-Tool-Key"
                )
            elif path.startswith("/api/v1/"):
                assert names and names <= OWNER_SCHEMES and "tool_key" not in names, path
    task = schema["components"]["schemas"]["Task"]["properties"]
    assert "createdAt" in task and "created_at" not in task


def test_docs_page_is_served(db):
    """Swagger UI at /api/docs/."""
    assert APIClient().get("/api/docs/").status_code == 200


def test_owner_credentials_are_alternatives(db):
    """Bearer token, API-key header and session are each enough (OR), not all required."""
    schema = APIClient().get("/api/schema/?format=json").json()
    security = schema["paths"]["/api/v1/tasks/"]["get"]["security"]
    assert security == [{"bearer_auth": []}, {"api_key": []}, {"cookieAuth": []}]
