"""Notification channels: the API, email (locmem) with signed answer links, Apprise through
its json:// target, reminders and "expiring soon"."""

import re
from datetime import timedelta

import pytest
from django.core import signing
from django.utils import timezone

from mesh.models import Question
from notify import crypto, services
from notify.jobs import send_reminders
from notify.links import make_token
from notify.models import Notification, NotificationChannel
from tests import factories

pytestmark = pytest.mark.django_db


def _links(body):
    return re.findall(r"https?://\S+/answer/\S+/", body)


@pytest.fixture
def email_channel(owner):
    return services.channel_create(owner=owner, kind="email", target="alice@example.com")


def test_channel_api_crud_masks_apprise_targets_and_scopes_to_the_owner(api, other_api, receiver):
    made = api.post(
        "/api/v1/notification-channels/",
        {
            "kind": "apprise",
            "target": f"json://127.0.0.1:{receiver.port}/secret-path",
            "remindAfterMinutes": 5,
        },
        format="json",
    )
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["target"] == "json://…" and body["remindAfterMinutes"] == 5
    row = NotificationChannel.objects.get()
    assert "secret-path" not in row.target_encrypted
    assert "secret-path" in crypto.decrypt(row.target_encrypted)
    assert other_api.get(f"/api/v1/notification-channels/{body['id']}/").status_code == 404
    bad = api.post(
        "/api/v1/notification-channels/", {"kind": "email", "target": "nope"}, format="json"
    )
    assert bad.status_code == 400 and bad.json()["code"] == "VALIDATION_ERROR"
    email = api.post(
        "/api/v1/notification-channels/",
        {"kind": "email", "target": "a@example.com"},
        format="json",
    ).json()
    assert email["target"] == "a@example.com" and email["remindAfterMinutes"] == 15
    assert api.delete(f"/api/v1/notification-channels/{email['id']}/").status_code == 204


def test_email_carries_the_question_and_one_signed_link_per_choice(
    email_channel, task_and_key, worker, mailoutbox
):
    question = factories.make_question(task_and_key[0], question="Ship it?", choices=["yes", "no"])
    worker()
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["alice@example.com"] and "Ship it?" in mail.subject
    assert f"/questions/{question.id}/" in mail.body
    assert task_and_key[0].name in mail.body and "yes" in mail.body
    assert len(_links(mail.body)) == 3  # yes, no, Decline


def test_channel_test_endpoint_sends_a_test_message(api, email_channel, worker, mailoutbox):
    reply = api.post(f"/api/v1/notification-channels/{email_channel.id}/test/")
    assert reply.status_code == 202
    worker()
    assert "test notification" in mailoutbox[0].body


def test_apprise_json_target_receives_the_notification(owner, receiver, task_and_key, worker):
    services.channel_create(
        owner=owner, kind="apprise", target=f"json://127.0.0.1:{receiver.port}/"
    )
    factories.make_question(task_and_key[0], question="Deploy?")
    worker()
    assert len(receiver.received) == 1
    import json

    sent = json.loads(receiver.received[0].body)
    assert "Deploy?" in sent["title"] and "/questions/" in sent["message"]
    assert Notification.objects.get().status == Notification.Status.SENT


def test_answer_link_get_changes_nothing_post_answers_second_use_refused(
    client, email_channel, task_and_key, worker, mailoutbox
):
    question = factories.make_question(task_and_key[0], choices=["yes", "no"])
    worker()
    yes_link = _links(mailoutbox[0].body)[0]
    path = yes_link.split("://", 1)[1].split("/", 1)[1]
    page = client.get("/" + path)
    assert page.status_code == 200 and b"Confirm" in page.content
    assert Question.objects.get(pk=question.pk).status == "pending"
    done = client.post("/" + path)
    assert done.status_code == 200
    row = Question.objects.get(pk=question.pk)
    assert row.status == "answered" and row.response == "yes"
    assert client.post("/" + path).status_code == 410
    assert client.get("/" + path).status_code == 410


def test_decline_link_declines(client, task_and_key):
    question = factories.make_question(task_and_key[0])
    client.post(f"/answer/{make_token(question, 'decline')}/")
    assert Question.objects.get(pk=question.pk).status == "declined"


def test_forged_and_expired_links_are_refused(client, task_and_key):
    question = factories.make_question(task_and_key[0], choices=["yes"])
    token = make_token(question, "0")
    forged = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    assert client.post(f"/answer/{forged}/").status_code == 400
    other = signing.dumps({"q": str(question.id), "c": "0"}, salt="another salt")
    assert client.post(f"/answer/{other}/").status_code == 400
    Question.objects.filter(pk=question.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.post(f"/answer/{token}/").status_code == 410
    assert Question.objects.get(pk=question.pk).status == "pending"  # expiry is the sweep's


def test_reminder_once_then_expiring_soon_once_and_nothing_once_settled(
    email_channel, owner, task_and_key, worker, mailoutbox
):
    task = task_and_key[0]
    old = factories.make_question(task, question="Old one?", ttl_seconds=7200)
    settled = factories.make_question(task, question="Settled one?")
    Question.objects.filter(pk__in=[old.pk, settled.pk]).update(
        created_at=timezone.now() - timedelta(minutes=20)
    )
    worker()
    mailoutbox.clear()
    assert send_reminders.call() == 2
    from mesh.questions import services as qs

    qs.question_answer(question_id=settled.id, owner=owner, response="done")  # settled meanwhile
    worker()
    subjects = [m.subject for m in mailoutbox if "Reminder" in m.subject]
    assert subjects == ["Reminder: Old one?"]
    assert send_reminders.call() == 0  # once only
    Question.objects.filter(pk=old.pk).update(expires_at=timezone.now() + timedelta(minutes=30))
    assert send_reminders.call() == 1
    worker()
    assert [m.subject for m in mailoutbox if "Expiring" in m.subject] == ["Expiring soon: Old one?"]
    assert send_reminders.call() == 0


def test_remind_after_zero_means_no_reminders(owner, task_and_key):
    services.channel_create(
        owner=owner, kind="email", target="a@example.com", remind_after_minutes=0
    )
    question = factories.make_question(task_and_key[0])
    Question.objects.filter(pk=question.pk).update(created_at=timezone.now() - timedelta(days=1))
    assert send_reminders.call() == 0
