"""/api/v1/webhooks/: CRUD, the secret shown once, rotation, deliveries, test and retry."""

import pytest

from notify import crypto
from notify.models import Delivery, Webhook
from tests import factories

pytestmark = pytest.mark.django_db


def _create(api, url, **body):
    return api.post("/api/v1/webhooks/", {"url": url, **body}, format="json")


def test_create_returns_the_secret_once_and_stores_it_encrypted(api, receiver):
    reply = _create(api, receiver.url, events=["question.asked"], description="ci")
    assert reply.status_code == 201, reply.content
    body = reply.json()
    assert body["secret"].startswith("whsec_")
    assert len(crypto.secret_key_bytes(body["secret"])) == 32
    assert body["events"] == ["question.asked"] and body["isActive"] is True
    row = Webhook.objects.get()
    assert body["secret"] not in row.secret_encrypted
    assert crypto.decrypt(row.secret_encrypted) == body["secret"]
    again = api.get(f"/api/v1/webhooks/{body['id']}/").json()
    assert "secret" not in again
    assert body["secret"] not in repr(row) and body["secret"] not in str(again)


def test_unknown_events_and_bad_urls_are_400(api):
    assert (
        _create(api, "https://example.com/h", events=["nope"]).json()["code"] == "VALIDATION_ERROR"
    )
    assert _create(api, "ftp://example.com/h").status_code == 400
    assert Webhook.objects.count() == 0


def test_update_list_delete_and_another_owners_is_404(api, other_api, receiver):
    webhook_id = _create(api, receiver.url).json()["id"]
    assert other_api.get(f"/api/v1/webhooks/{webhook_id}/").status_code == 404
    assert other_api.get("/api/v1/webhooks/").json()["count"] == 0
    patched = api.patch(f"/api/v1/webhooks/{webhook_id}/", {"isActive": False}, format="json")
    assert patched.status_code == 200 and patched.json()["isActive"] is False
    assert api.get("/api/v1/webhooks/").json()["count"] == 1
    assert other_api.delete(f"/api/v1/webhooks/{webhook_id}/").status_code == 404
    assert api.delete(f"/api/v1/webhooks/{webhook_id}/").status_code == 204
    assert Webhook.objects.count() == 0


def test_rotate_secret_returns_a_new_one_and_keeps_the_old_for_the_overlap(api, receiver):
    created = _create(api, receiver.url).json()
    rotated = api.post(f"/api/v1/webhooks/{created['id']}/rotate-secret/")
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != created["secret"]
    row = Webhook.objects.get()
    assert crypto.decrypt(row.previous_secret_encrypted) == created["secret"]
    assert row.previous_secret_expires_at is not None


def test_test_event_deliveries_list_and_retry(api, other_api, receiver, worker):
    created = _create(api, receiver.url).json()
    receiver.secrets.append(created["secret"])
    sent = api.post(f"/api/v1/webhooks/{created['id']}/test/")
    assert sent.status_code == 202 and sent.json()["eventType"] == "webhook.test"
    worker()
    assert receiver.received[0].verified
    assert receiver.received[0].payload["type"] == "webhook.test"
    listed = api.get(f"/api/v1/webhooks/{created['id']}/deliveries/").json()
    assert listed["count"] == 1
    item = listed["results"][0]
    assert item["status"] == "succeeded" and item["webhookId"].startswith("msg_")
    attempt = item["attempts"][0]
    assert attempt["httpStatus"] == 200 and attempt["durationMs"] >= 0
    assert '"status": 200' in attempt["responseBody"]
    retry_url = f"/api/v1/webhooks/{created['id']}/deliveries/{item['id']}/retry/"
    assert other_api.post(retry_url).status_code == 404
    assert api.post(retry_url).status_code == 202
    worker()
    assert receiver.ids() == [item["webhookId"], item["webhookId"]]
    assert Delivery.objects.get().attempts.count() == 2


def test_deliveries_are_newest_first(api, receiver, task_and_key):
    created = _create(api, receiver.url).json()
    first = factories.make_question(task_and_key[0], question="first")
    second = factories.make_question(task_and_key[0], question="second")
    results = api.get(f"/api/v1/webhooks/{created['id']}/deliveries/").json()["results"]
    assert [r["eventType"] for r in results] == ["question.asked", "question.asked"]
    ids = [Delivery.objects.get(message_id=r["webhookId"]).payload["data"]["id"] for r in results]
    assert ids == [str(second.id), str(first.id)]
