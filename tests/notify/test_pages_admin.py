"""The settings page (/settings/notifications/) and the admin's owner scoping."""

import pytest

from notify import services
from notify.models import Delivery
from tests import factories

pytestmark = pytest.mark.django_db


def test_settings_page_lists_own_webhooks_channels_and_test_buttons_work(
    client, owner, other_owner
):
    mine, _ = services.webhook_create(owner=owner, url="https://example.com/mine")
    services.webhook_create(owner=other_owner, url="https://example.com/theirs")
    services.channel_create(owner=owner, kind="email", target="me@example.com")
    assert client.get("/settings/notifications/").status_code == 302  # login first
    client.force_login(owner)
    page = client.get("/settings/notifications/").content.decode()
    assert "https://example.com/mine" in page and "me@example.com" in page
    assert "theirs" not in page
    assert (
        client.post("/settings/notifications/", {"test": "webhook", "id": mine.id}).status_code
        == 302
    )
    assert Delivery.objects.get().event_type == "webhook.test"
    theirs = services.webhook_create(owner=other_owner, url="https://example.com/x")[0]
    assert (
        client.post("/settings/notifications/", {"test": "webhook", "id": theirs.id}).status_code
        == 404
    )


def test_admin_shows_staff_only_their_own_endpoints_and_deliveries(client, owner, other_owner):
    from django.contrib.auth.models import Permission

    staff = factories.make_owner("staffer", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="notify"))
    services.webhook_create(owner=staff, url="https://example.com/staff-own")
    services.webhook_create(owner=other_owner, url="https://example.com/not-yours")
    client.force_login(staff)
    page = client.get("/admin/notify/webhook/").content.decode()
    assert "staff-own" in page and "not-yours" not in page
    assert client.get("/admin/notify/delivery/").status_code == 200
