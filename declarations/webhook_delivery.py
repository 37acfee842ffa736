"""Webhook deliveries: the relay that turns events into deliveries, the sweep that finds the
due ones, and the send, following the Standard Webhooks specification.

**Relay.** Reads every organisation's events after its own cursor (``WebhookRelay``), by the
event feed's rule: an event is read only once every older transaction has finished, in
``(tx, id)`` order (``declarations.events``), so no event is ever passed over. For each batch
one statement inserts the deliveries (``INSERT ... SELECT``) for the organisations' active
endpoints subscribed to the event's type and made before it happened, and the cursor moves in
the same transaction. The batch path writes thousands of events a second: nothing here reads
them one by one. The relay's row is locked while it works (skip locked), so only one relay
runs at a time, and a second one simply stops. The new deliveries' sends are queued when the
transaction commits.

**Send.** A worker claims the delivery (``claimed_until``, a conditional update: only a
pending, due and unclaimed delivery is claimed), posts it outside any transaction (a
transaction open during the call would hold back every reader of the event feed), and then
records the attempt. Redirects are not followed (a 3xx is a failed attempt: the address that
was checked is the only one posted to). A 2xx answer marks it delivered; nothing sends a
delivered delivery again but a person's redelivery. Any other answer, a timeout or a refused
address is a failed attempt, and the next one is due after the next wait of
``WEBHOOK_RETRY_SCHEDULE`` (about 24 hours in all). When the waits run out the delivery has
failed, its endpoint is disabled and its organisation's owner is emailed. A worker that dies
after the receiver answered but before the answer is recorded leaves the delivery to be sent
again: receivers drop duplicates by ``webhook-id``, which is the same for every attempt of a
delivery.

**Sweep.** Beat runs it every few seconds: it queues the sends of due deliveries, marking
them ``queued_until`` so that a send waiting in the queue is not queued again (a lost message
is queued again once that passes). Long Celery countdowns are not used: Redis hands an
unacknowledged message out again after its visibility timeout.

**Payload.** ``{"type", "timestamp", "data"}`` with ``data`` the event as the event feed
shows it (``event_api.event_out``): never a lane, a score or an officer's note. Headers:
``webhook-id`` (``msg_<delivery id>``), ``webhook-timestamp`` (seconds, the time of this
attempt) and ``webhook-signature`` (``v1,<base64 HMAC-SHA256>``, made by ``standardwebhooks``).
"""

import http.client
import json
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from standardwebhooks.webhooks import Webhook

from clearance.actors import Actor
from clearance.errors import ServiceError
from clearance.models import User
from clearance.queue import enqueue_on_commit
from clearance.workflow import lock_row, lock_rows
from declarations import webhooks
from declarations.event_api import event_out
from declarations.events import finished_sql
from declarations.models import (
    Event,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookRelay,
)

RELAY_BATCH = 5000
RELAY_ROUNDS = 20
SWEEP_LIMIT = 1000
# How long a queued send keeps the sweep away, and how long a sender holds its claim.
QUEUED_FOR = timedelta(minutes=5)
USER_AGENT = "clearance-portal-webhooks/1"

State = WebhookDelivery.State


def claim_for() -> timedelta:
    return timedelta(seconds=3 * settings.WEBHOOK_TIMEOUT_SECONDS + 30)


# --- Relay -----------------------------------------------------------------------------------


def relay(batch: int = RELAY_BATCH, rounds: int = RELAY_ROUNDS) -> int:
    """Turn the events read since the last run into deliveries; returns how many were made.
    Stops when caught up, after ``rounds`` batches, or at once if another relay is working."""
    made = 0
    for _round in range(rounds):
        with transaction.atomic():
            cursor = _lock_relay()
            if cursor is None:
                return made
            ids, last, read = _relay_batch(cursor, batch)
            if last is not None:
                cursor.tx, cursor.event_id = last
                cursor.updated_at = timezone.now()
                cursor.save(update_fields=["tx", "event_id", "updated_at"])
            for pk in ids:
                enqueue_on_commit("declarations.webhook_send", pk)
        made += len(ids)
        if read < batch:
            return made
    return made


def _lock_relay() -> WebhookRelay | None:
    table = WebhookRelay._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (id, tx, event_id, updated_at) "  # noqa: S608 (model's table)
            "VALUES (1, 0, 0, now()) ON CONFLICT (id) DO NOTHING"
        )
    return lock_rows(WebhookRelay.objects.filter(pk=1), skip_locked=True).first()


def _relay_batch(cursor: WebhookRelay, batch: int) -> tuple[list[int], tuple[int, int] | None, int]:
    """One batch: the deliveries made, the last event read and how many were read."""
    event = Event._meta.db_table
    endpoint = WebhookEndpoint._meta.db_table
    delivery = WebhookDelivery._meta.db_table
    # Table names from the models, values as parameters.
    sql = (
        "WITH batch AS (SELECT e.id, e.tx, e.organisation_id, e.type, e.occurred_at "  # noqa: S608
        f"  FROM {event} e "
        f"  WHERE {finished_sql('e')} AND (e.tx > %(tx)s OR (e.tx = %(tx)s AND e.id > %(id)s))"
        "   ORDER BY e.tx, e.id LIMIT %(limit)s), "
        f"made AS (INSERT INTO {delivery} (endpoint_id, event_id, state, attempts, "
        "   next_attempt_at, queued_until, created_at) "
        "  SELECT w.id, b.id, %(pending)s, 0, now(), now() + %(queued)s, now() "
        f"  FROM batch b JOIN {endpoint} w ON w.organisation_id = b.organisation_id "
        "   AND w.active AND b.type = ANY(w.event_types) AND w.created_at <= b.occurred_at "
        "  ORDER BY b.tx, b.id, w.id "
        "  ON CONFLICT (endpoint_id, event_id) DO NOTHING RETURNING id) "
        "SELECT (SELECT array_agg(id ORDER BY id) FROM made), "
        "  (SELECT ARRAY[tx, id] FROM batch ORDER BY tx DESC, id DESC LIMIT 1), "
        "  (SELECT count(*) FROM batch)"
    )
    params: dict[str, Any] = {
        "tx": cursor.tx,
        "id": cursor.event_id,
        "limit": batch,
        "pending": State.PENDING,
        "queued": QUEUED_FOR,
    }
    with connection.cursor() as db:
        db.execute(sql, params)
        ids, last, read = db.fetchone()
    return list(ids or []), (int(last[0]), int(last[1])) if last else None, int(read)


# --- Sweep -----------------------------------------------------------------------------------


def sweep(limit: int = SWEEP_LIMIT) -> int:
    """Queue the sends of the due deliveries of active endpoints; returns how many."""
    now = timezone.now()
    with transaction.atomic():
        due = lock_rows(
            WebhookDelivery.objects.filter(
                state=State.PENDING, next_attempt_at__lte=now, endpoint__active=True
            ).filter(Q(queued_until__isnull=True) | Q(queued_until__lt=now)),
            skip_locked=True,
        )
        ids = list(due.values_list("pk", flat=True)[:limit])
        WebhookDelivery.objects.filter(pk__in=ids).update(queued_until=now + QUEUED_FOR)
        for pk in ids:
            enqueue_on_commit("declarations.webhook_send", pk)
    return len(ids)


# --- Send ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    status_code: int | None = None
    excerpt: str = ""
    error: str = ""
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def send(delivery_id: int) -> Outcome | None:
    """Post a due delivery once (see the module's docstring); None when there was nothing to
    do: delivered already, not due, claimed by another worker, or its endpoint is off."""
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        pk=delivery_id,
        state=State.PENDING,
        next_attempt_at__lte=now,
        endpoint__active=True,
    ).update(claimed_until=now + claim_for())
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint", "event__declaration").get(
        pk=delivery_id
    )
    outcome = post(delivery)
    record(delivery_id, outcome, by=None)
    return outcome


def redeliver(*, delivery: WebhookDelivery, by: User | None) -> None:
    """A person asks for a delivery to be sent again, whatever its state: queued at once."""
    enqueue_on_commit("declarations.webhook_redeliver", delivery.pk, by.pk if by else None)


def redeliver_now(delivery_id: int, user_id: int | None) -> Outcome | None:
    """The redelivery itself, by a worker: one more POST, logged as made by hand."""
    delivery = (
        WebhookDelivery.objects.select_related("endpoint", "event__declaration")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:
        return None
    by = User.objects.filter(pk=user_id).first() if user_id else None
    outcome = post(delivery)
    record(delivery_id, outcome, by=by, manual=True)
    return outcome


def payload(event: Event) -> str:
    body = {"type": event.type, "timestamp": event.occurred_at, "data": event_out(event)}
    return json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":"))


def signed_headers(delivery: WebhookDelivery, body: str) -> dict[str, str]:
    message_id = f"msg_{delivery.pk}"
    now = datetime.now(UTC)
    signature = Webhook(delivery.endpoint.secret).sign(message_id, now, body)
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


def post(delivery: WebhookDelivery) -> Outcome:
    """One signed POST to the endpoint, to an address checked just now."""
    url = delivery.endpoint.url
    started = time.monotonic()
    try:
        found = webhooks.addresses(url)
    except ServiceError as refused:
        return Outcome(error=_("Not sent: %(why)s") % {"why": refused.message})
    body = payload(delivery.event)
    try:
        status, excerpt = _post(url, found[0], signed_headers(delivery, body), body.encode())
    except (OSError, http.client.HTTPException) as error:
        return Outcome(
            error=(str(error) or error.__class__.__name__)[: WebhookAttempt.EXCERPT],
            duration_ms=int((time.monotonic() - started) * 1000),
        )
    return Outcome(status, excerpt, "", int((time.monotonic() - started) * 1000))


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to ``address`` (checked already) whatever the host name resolves to now."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """As ``_PinnedHTTP``, over TLS: the certificate is checked against the host name."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


def _post(url: str, address: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    timeout = float(settings.WEBHOOK_TIMEOUT_SECONDS)
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = _PinnedHTTPS(host, parts.port or 443, address, timeout)
    else:
        conn = _PinnedHTTP(host, parts.port or 80, address, timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        excerpt = response.read(WebhookAttempt.EXCERPT).decode("utf-8", "replace")
        return response.status, excerpt
    finally:
        conn.close()


# --- Recording -------------------------------------------------------------------------------


def record(delivery_id: int, outcome: Outcome, *, by: User | None, manual: bool = False) -> None:
    """Log the attempt and move the delivery on: delivered, due again later, or failed (its
    endpoint then disabled and its owner told)."""
    now = timezone.now()
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    with transaction.atomic():
        delivery = lock_row(WebhookDelivery.objects.all(), pk=delivery_id)
        WebhookAttempt.objects.create(
            delivery=delivery,
            at=now,
            status_code=outcome.status_code,
            response_excerpt=outcome.excerpt[: WebhookAttempt.EXCERPT],
            error=outcome.error[: WebhookAttempt.EXCERPT],
            duration_ms=outcome.duration_ms,
            manual=manual,
            by=by,
        )
        delivery.attempts += 1
        if not manual:
            delivery.claimed_until = None
        if outcome.ok and delivery.state != State.DELIVERED:
            delivery.state, delivery.delivered_at = State.DELIVERED, now
        elif not outcome.ok and not manual and delivery.state == State.PENDING:
            failures = delivery.attempt_log.filter(manual=False).count()
            if failures > len(schedule):
                delivery.state = State.FAILED
                _disable(delivery.endpoint_id, now)
            else:
                delivery.next_attempt_at = now + timedelta(seconds=schedule[failures - 1])
                delivery.queued_until = None
        delivery.save()


def _disable(endpoint_id: int, now: datetime) -> None:
    endpoint = lock_row(WebhookEndpoint.objects.all(), pk=endpoint_id)
    if not endpoint.active:
        return
    endpoint.active, endpoint.disabled_at = False, now
    endpoint.disabled_reason = str(
        _("Disabled: a delivery failed %(count)d attempts in a row.")
        % {"count": len(settings.WEBHOOK_RETRY_SCHEDULE) + 1}
    )
    Actor().stamp(endpoint).save()
    enqueue_on_commit("declarations.send_webhook_disabled_email", endpoint.pk)


def attempts_of(delivery: WebhookDelivery) -> Any:
    return delivery.attempt_log.select_related("by").order_by("at", "id")
