from rest_framework import status

from tests import factories


def test_create_returns_tool_key_once(api, directive):
    """Creating a task returns its tool key; reading it later never shows the key."""
    created = api.post(
        "/api/v1/tasks/", {"name": "build", "directive": str(directive.id)}, format="json"
    )
    assert created.status_code == status.HTTP_201_CREATED
    assert created.json()["toolKey"].startswith("mtk_")
    fetched = api.get(f"/api/v1/tasks/{created.json()['id']}/")
    assert fetched.status_code == status.HTTP_200_OK
    assert "toolKey" not in fetched.json()


def test_other_owners_task_is_404(api, other_owner):
    """Another owner's task is invisible."""
    task, _ = factories.make_task(other_owner)
    assert api.get(f"/api/v1/tasks/{task.id}/").status_code == status.HTTP_404_NOT_FOUND
