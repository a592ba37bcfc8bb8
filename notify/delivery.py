"""Sending one webhook delivery: claim it, check the address, POST it signed, record it.

Standard Webhooks 1.0: headers webhook-id (the delivery's, the same on every retry),
webhook-timestamp (Unix seconds) and webhook-signature (`v1,<base64 HMAC-SHA256 of
"{id}.{timestamp}.{body}">` for each active secret, space-separated). Any 2xx succeeds;
redirects are not followed; 410 disables the endpoint; otherwise the delivery is retried
after WEBHOOK_RETRY_SCHEDULE[n] seconds (±10% jitter), and when the last retry fails the
endpoint is disabled and the owner told on their channels. A claim is a lease: a worker
killed mid-attempt leaves the delivery due again once its lease runs out, and the pump
(notify.jobs.pump_due) sends it.
"""

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import random
import socket
import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from notify import crypto
from notify.models import RESPONSE_KEPT_BYTES, Delivery, DeliveryAttempt, Webhook

logger = logging.getLogger(__name__)
Status = Delivery.Status


class Refused(Exception):
    """The endpoint's address may not be called (the attempt fails with this reason)."""


def active_secrets(webhook: Webhook, now: datetime) -> list[str]:
    """The secrets signing now: the current one, and the previous for its overlap."""
    found = [crypto.decrypt(webhook.secret_encrypted)]
    if webhook.previous_secret_encrypted and (
        webhook.previous_secret_expires_at and webhook.previous_secret_expires_at > now
    ):
        found.append(crypto.decrypt(webhook.previous_secret_encrypted))
    return found


def signature_header(secrets: list[str], message_id: str, stamp: int, body: bytes) -> str:
    signed = f"{message_id}.{stamp}.".encode() + body
    return " ".join(
        "v1,"
        + base64.b64encode(
            hmac.new(crypto.secret_key_bytes(s), signed, hashlib.sha256).digest()
        ).decode()
        for s in secrets
    )


def check_url(url: str) -> None:
    """Refused unless the URL may be called now: https (with DEBUG off, unless private
    networks are allowed) and, resolved now, no private, loopback, link-local, multicast
    or reserved address (unless WEBHOOK_ALLOW_PRIVATE_NETWORKS)."""
    parts = urlsplit(url)
    allow_private = bool(settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS)
    if parts.scheme != "https" and not (settings.DEBUG or allow_private):
        raise Refused("https is required")
    if allow_private:
        return
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise Refused(f"the host does not resolve: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if (
            address.is_private
            or address.is_loopback
            or address.is_link_local
            or address.is_multicast
            or address.is_reserved
            or address.is_unspecified
        ):
            raise Refused(f"private network address refused ({address})")


def retry_delay(attempts_so_far: int) -> float | None:
    """Seconds until the next attempt after `attempts_so_far` failed ones; None: give up."""
    schedule = list(settings.WEBHOOK_RETRY_SCHEDULE)
    if attempts_so_far > len(schedule):
        return None
    base = float(schedule[attempts_so_far - 1])
    return base * random.uniform(0.9, 1.1)  # noqa: S311 (jitter, not a secret)


def claim(delivery_id: str, *, force: bool = False) -> Delivery | None:
    """Take the lease on a due delivery (exactly one worker wins), or None."""
    now = timezone.now()
    lease = now + timedelta(seconds=float(settings.WEBHOOK_LEASE_SECONDS))
    rows = Delivery.objects.filter(pk=delivery_id, status__in=[Status.PENDING, Status.RETRYING])
    rows = rows.filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
    if not force:
        rows = rows.filter(next_attempt_at__lte=now)
    if not rows.update(locked_until=lease):
        return None
    return Delivery.objects.select_related("webhook").get(pk=delivery_id)


_clients: dict[int, httpx.Client] = {}


def _client() -> httpx.Client:
    """This process's HTTP client (its connection pool and TLS context are reused: building
    a client per attempt cost more than the POST). Redirects are never followed."""
    pid = os.getpid()
    if pid not in _clients:
        _clients[pid] = httpx.Client(follow_redirects=False, trust_env=False)
    return _clients[pid]


def post(delivery: Delivery) -> DeliveryAttempt:
    """One attempt (no database writes): the POST and what came back."""
    started = timezone.now()
    clock = time.monotonic()
    attempt = DeliveryAttempt(delivery=delivery, attempted_at=started)
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    stamp = int(time.time())
    try:
        check_url(delivery.webhook.url)
        headers = {
            "content-type": "application/json",
            "user-agent": "makima-mesh-webhooks/1",
            "webhook-id": delivery.message_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": signature_header(
                active_secrets(delivery.webhook, started), delivery.message_id, stamp, body
            ),
        }
        response = _client().post(
            delivery.webhook.url,
            content=body,
            headers=headers,
            timeout=float(settings.WEBHOOK_TIMEOUT_SECONDS),
        )
        attempt.http_status = response.status_code
        attempt.response_body = response.content[:RESPONSE_KEPT_BYTES].decode("utf-8", "replace")
        if not 200 <= response.status_code < 300:
            attempt.error = f"HTTP {response.status_code}"
    except Refused as exc:
        attempt.error = str(exc)[:500]
    except httpx.HTTPError as exc:
        attempt.error = f"{type(exc).__name__}: {exc}"[:500]
    attempt.duration_ms = int((time.monotonic() - clock) * 1000)
    return attempt


def deliver(delivery_id: str, *, force: bool = False) -> str | None:
    """Attempt a delivery if it is due (or `force`); its new status, or None if another
    worker holds it or it is settled."""
    delivery = claim(delivery_id, force=force)
    if delivery is None:
        return None
    if not delivery.webhook.is_active:
        with transaction.atomic():
            Delivery.objects.filter(pk=delivery.pk).update(
                status=Status.FAILED, locked_until=None, next_attempt_at=None
            )
        return Status.FAILED
    attempt = post(delivery)
    return record(delivery, attempt)


@transaction.atomic
def record(delivery: Delivery, attempt: DeliveryAttempt) -> str:
    """Store an attempt and its consequence (success, retry, or giving up)."""
    from notify import jobs, services  # the jobs enqueue this module's work

    attempt.save()
    attempts = delivery.attempt_count + 1
    fields: dict[str, object] = {"attempt_count": attempts, "locked_until": None}
    if attempt.http_status is not None and 200 <= attempt.http_status < 300:
        fields.update(status=Status.SUCCEEDED, next_attempt_at=None)
    elif attempt.http_status == 410:
        fields.update(status=Status.FAILED, next_attempt_at=None)
        services.webhook_disable(webhook=delivery.webhook, reason="the endpoint answered 410")
    else:
        delay = retry_delay(attempts)
        if delay is None:
            fields.update(status=Status.FAILED, next_attempt_at=None)
            services.webhook_disable(
                webhook=delivery.webhook,
                reason=f"{attempts} attempts failed",
                tell_owner=True,
            )
        else:
            due = timezone.now() + timedelta(seconds=delay)
            fields.update(status=Status.RETRYING, next_attempt_at=due)
            jobs.deliver_webhook.using(run_after=due).enqueue(str(delivery.pk))
    Delivery.objects.filter(pk=delivery.pk).update(updated_at=timezone.now(), **fields)
    return str(fields["status"])
