"""Webhook deliveries end to end in one process: the outbox, the worker's jobs and a local
receiver verifying each delivery with the standardwebhooks library."""

import pytest

from notify import services
from notify.models import Delivery, Webhook
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def hook(owner, receiver):
    webhook, secret = services.webhook_create(owner=owner, url=receiver.url)
    receiver.secrets.append(secret)
    return webhook


def _types(receiver):
    return [r.payload["type"] for r in receiver.received if r.payload]


def test_each_question_event_is_delivered_once_per_change(
    hook, receiver, worker, task_and_key, owner
):
    from mesh.questions import services as qs

    task, _ = task_and_key
    answered = factories.make_question(task, choices=["yes", "no"])
    declined = factories.make_question(task)
    cancelled = factories.make_question(task)
    expired = factories.make_question(task)
    qs.question_answer(question_id=answered.id, owner=owner, response="yes")
    qs.question_decline(question_id=declined.id, owner=owner, reason="no")
    qs.question_cancel(question_id=cancelled.id, task=task)
    qs.question_expire(question_id=expired.id)
    worker()
    assert all(r.verified for r in receiver.received)
    assert sorted(_types(receiver)) == sorted(
        ["question.asked"] * 4
        + ["question.answered", "question.declined", "question.cancelled", "question.expired"]
    )
    answered_body = next(
        r.payload for r in receiver.received if r.payload["type"] == "question.answered"
    )
    assert answered_body["data"]["id"] == str(answered.id)
    assert answered_body["data"]["status"] == "answered"
    assert answered_body["data"]["response"] == "yes"
    assert len(set(receiver.ids())) == 8


def test_order_events_carry_the_order_as_the_api_shows_it(hook, receiver, worker, owner, directive):
    from orders import services as os_

    order = factories.make_order(owner, directive)
    os_.order_update(order=order, data={"status": "in_progress"})
    worker()
    bodies = [r.payload for r in receiver.received]
    assert [b["type"] for b in bodies] == ["order.created", "order.updated"]
    assert bodies[1]["data"]["id"] == str(order.id)
    assert bodies[1]["data"]["status"] == "in_progress"


def test_a_500_is_retried_with_the_same_webhook_id_until_it_succeeds(
    hook, receiver, worker, task_and_key
):
    receiver.statuses = [500, 500]
    factories.make_question(task_and_key[0])
    for _ in range(3):
        worker()
    assert len(receiver.received) == 3
    assert len(set(receiver.ids())) == 1
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert [a.http_status for a in delivery.attempts.all()] == [500, 500, 200]


def test_410_disables_the_endpoint_at_once(hook, receiver, worker, task_and_key):
    receiver.statuses = [410]
    factories.make_question(task_and_key[0])
    worker()
    hook.refresh_from_db()
    assert not hook.is_active
    assert Delivery.objects.get().status == Delivery.Status.FAILED
    factories.make_question(task_and_key[0])
    worker()
    assert len(receiver.received) == 1


def test_the_last_retry_failing_disables_and_tells_the_owner(
    hook, receiver, worker, task_and_key, owner, mailoutbox
):
    services.channel_create(
        owner=owner, kind="email", target="alice@example.com", events=["order.created"]
    )
    receiver.default_status = 503
    factories.make_question(task_and_key[0])
    for _ in range(5):
        worker()
    assert len(receiver.received) == 4  # the first attempt and the schedule's three retries
    hook.refresh_from_db()
    assert not hook.is_active and "4 attempts failed" in hook.disabled_reason
    assert Delivery.objects.get().status == Delivery.Status.FAILED
    assert any("was disabled" in m.body for m in mailoutbox)


def test_a_redirect_is_not_followed(hook, receiver, worker, task_and_key, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = (60,)
    receiver.statuses = [302]
    receiver.redirect_to = receiver.url + "?followed=1"
    factories.make_question(task_and_key[0])
    worker()
    attempt = Delivery.objects.get().attempts.get()
    assert attempt.http_status == 302
    assert len(receiver.received) == 1  # the redirect's target was never asked
    assert Delivery.objects.get().status == Delivery.Status.RETRYING


def test_a_private_address_is_refused_with_the_setting_off(
    hook, receiver, worker, task_and_key, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    settings.DEBUG = True  # http allowed; the address is still refused
    factories.make_question(task_and_key[0])
    worker()
    assert receiver.received == []
    attempt = Delivery.objects.get().attempts.first()
    assert attempt.http_status is None
    assert "private network address refused" in attempt.error


def test_https_is_required_with_debug_off_unless_private_networks_are_allowed(owner, settings):
    from makima_site.errors import ApplicationError

    settings.DEBUG = False
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    with pytest.raises(ApplicationError):
        services.webhook_create(owner=owner, url="http://example.com/hook")
    services.webhook_create(owner=owner, url="https://example.com/hook")


def test_after_rotation_both_secrets_verify_during_the_overlap(
    hook, receiver, worker, task_and_key
):
    old_secret = receiver.secrets[0]
    webhook, new_secret = services.webhook_rotate_secret(webhook=Webhook.objects.get())
    factories.make_question(task_and_key[0])
    worker()
    received = receiver.received[0]
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    receiver.secrets = [new_secret]
    assert receiver.verify(received.headers, received.body) is not None
    receiver.secrets = [old_secret]
    assert receiver.verify(received.headers, received.body) is not None


def test_no_endpoint_no_delivery_and_inactive_endpoints_get_nothing(
    owner, receiver, worker, task_and_key
):
    webhook, _ = services.webhook_create(owner=owner, url=receiver.url, is_active=False)
    factories.make_question(task_and_key[0])
    worker()
    assert Delivery.objects.count() == 0


def test_events_filter_limits_what_an_endpoint_gets(owner, receiver, worker, task_and_key):
    _, secret = services.webhook_create(owner=owner, url=receiver.url, events=["question.answered"])
    factories.make_question(task_and_key[0])
    worker()
    assert receiver.received == []


def test_a_rolled_back_change_leaves_no_delivery(hook, task_and_key):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        factories.make_question(task_and_key[0])
        raise RuntimeError("rollback")
    assert Delivery.objects.count() == 0
