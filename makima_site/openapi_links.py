"""OpenAPI links: which operation's response supplies the ids another operation takes.

A client (and schemathesis' stateful phase) follows them to walk the API with real ids:
ask → the owner's question endpoints → answer or decline, task create → rotate-key, order
create → update → delete. Two sources, both applied by the POSTPROCESSING_HOOKS entry
`add_links`:

- Every collection the API creates in (a `POST` on `/…/` that answers 201 with an `id`)
  links to each operation on its item path `/…/{id}/…`, with `id` taken from the body.
- The links no path shows, written out in EXPLICIT_LINKS: the ask answers `questionId`,
  which the owner's and the task's question endpoints take as their path parameter; an order
  a task files is one the owner then reads, updates and deletes.

A link to an operation the schema does not have is left out, so a capability added or
removed never leaves a dangling link.
"""

import re
from typing import Any

_HTTP_METHODS = {"get", "put", "post", "delete", "patch"}
_ID_PARAMETER = re.compile(r"^\{(?P<name>[a-z_]+)\}/")

# (producer operationId, response status, the body field with the id)
#   → consumers: (operationId, path parameter)
EXPLICIT_LINKS: dict[tuple[str, str, str], list[tuple[str, str]]] = {
    ("mesh_supervisor_questions_ask", "200", "questionId"): [
        ("mesh_supervisor_questions_poll", "question_id"),
        ("mesh_supervisor_questions_cancel", "question_id"),
        ("v1_mesh_questions_retrieve", "question_id"),
        ("v1_mesh_questions_answer_create", "question_id"),
        ("v1_mesh_questions_decline_create", "question_id"),
        ("v1_questions_retrieve", "id"),
        ("v1_questions_answer_create", "id"),
        ("v1_questions_decline_create", "id"),
    ],
    ("mesh_supervisor_orders_create", "201", "id"): [
        ("v1_orders_retrieve", "id"),
        ("v1_orders_partial_update", "id"),
        ("v1_orders_destroy", "id"),
    ],
}


def _operations(result: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """operationId → (path, method, operation)."""
    found = {}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method in _HTTP_METHODS and "operationId" in operation:
                found[operation["operationId"]] = (path, method, operation)
    return found


def _link_name(operation_id: str) -> str:
    return "".join(part.capitalize() for part in operation_id.split("_"))


def _add_link(
    operation: dict[str, Any], status: str, target: str, parameter: str, field: str
) -> None:
    response = operation.get("responses", {}).get(status)
    if response is None:
        return
    response.setdefault("links", {})[_link_name(target)] = {
        "operationId": target,
        "parameters": {parameter: f"$response.body#/{field}"},
        "description": f"The `{field}` in this response is the `{parameter}` of {target}.",
    }


def _collection_links(operations: dict[str, tuple[str, str, dict[str, Any]]]) -> None:
    """A 201 create on `/…/` links to every operation under `/…/{id}/`."""
    creates = {
        path: operation
        for path, method, operation in operations.values()
        if method == "post" and "201" in operation.get("responses", {})
    }
    for operation_id, (path, _method, _operation) in sorted(operations.items()):
        for collection, create in creates.items():
            rest = path[len(collection) :] if path.startswith(collection) else ""
            match = _ID_PARAMETER.match(rest)
            if match and match.group("name") == "id":
                _add_link(create, "201", operation_id, "id", "id")


def add_links(result, generator, request, public):
    """POSTPROCESSING_HOOKS entry (see the module docstring)."""
    operations = _operations(result)
    _collection_links(operations)
    for (producer, status, field), consumers in EXPLICIT_LINKS.items():
        if producer not in operations:
            continue
        for target, parameter in consumers:
            if target in operations:
                _add_link(operations[producer][2], status, target, parameter, field)
    return result
