"""OpenAPI links carry real ids from the operations that create them
(makima_site/openapi_links.py)."""

import pytest
from drf_spectacular.generators import SchemaGenerator

HTTP_METHODS = {"get", "put", "post", "delete", "patch"}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def by_operation_id(schema) -> dict:
    return {
        operation["operationId"]: (path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def links_of(schema, operation_id: str, status: str) -> dict:
    _path, operation = by_operation_id(schema)[operation_id]
    return operation["responses"][status].get("links", {})


def test_the_ask_links_to_every_question_endpoint_by_its_question_id(schema):
    links = links_of(schema, "mesh_supervisor_questions_ask", "200")
    targets = {link["operationId"]: link["parameters"] for link in links.values()}
    for target in (
        "mesh_supervisor_questions_poll",
        "mesh_supervisor_questions_cancel",
        "v1_mesh_questions_retrieve",
        "v1_mesh_questions_answer_create",
        "v1_mesh_questions_decline_create",
    ):
        assert targets[target] == {"question_id": "$response.body#/questionId"}, target


@pytest.mark.parametrize(
    ("create", "item_operations"),
    [
        ("v1_tasks_create", {"v1_tasks_retrieve", "v1_tasks_rotate_key_create"}),
        ("v1_orders_create", {"v1_orders_retrieve", "v1_orders_partial_update"}),
        ("v1_tokens_create", {"v1_tokens_retrieve", "v1_tokens_revoke_create"}),
        ("v1_directives_create", {"v1_directives_retrieve", "v1_directives_update"}),
        ("mesh_supervisor_orders_create", {"v1_orders_retrieve", "v1_orders_destroy"}),
    ],
)
def test_a_create_links_to_the_operations_on_what_it_created(schema, create, item_operations):
    links = links_of(schema, create, "201")
    targets = {link["operationId"]: link["parameters"] for link in links.values()}
    assert item_operations <= set(targets)
    for target in item_operations:
        assert targets[target] == {"id": "$response.body#/id"}


def test_every_link_names_an_operation_of_the_schema_and_its_path_parameter(schema):
    operations = by_operation_id(schema)
    seen = 0
    for _path, operation in operations.values():
        for response in operation["responses"].values():
            for link in response.get("links", {}).values():
                target_path, _target = operations[link["operationId"]]
                for parameter in link["parameters"]:
                    assert "{" + parameter + "}" in target_path, (link, target_path)
                seen += 1
    assert seen >= 20


def test_the_response_field_a_link_reads_is_in_the_response_schema(schema):
    operations = by_operation_id(schema)
    components = schema["components"]["schemas"]
    for _path, operation in operations.values():
        for response in operation["responses"].values():
            for link in response.get("links", {}).values():
                reference = response["content"]["application/json"]["schema"]["$ref"]
                properties = components[reference.rsplit("/", 1)[-1]]["properties"]
                for expression in link["parameters"].values():
                    assert expression.removeprefix("$response.body#/") in properties
