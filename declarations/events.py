"""Events: every change a filer may see, written in the same transaction as the change.

A declaration's status change writes its ``StatusChange`` (the timeline and the audit) and, for
the statuses a filer sees, an ``Event`` row: the outbox of the filing API. The event feed
(``GET /api/v1/events/``) reads it, and webhooks deliver it. An event names its declaration
and the new state; a held declaration's event also gives the reason it is held. Events never
carry a lane, a score, a rule or an officer's notes: the filer sees the status, not why an
officer or a rule chose it.

Order. Each event records the id of the transaction that wrote it (``Event.tx``). The feed
shows an event only once every transaction that started before its own has finished
(PostgreSQL's snapshot ``xmin``), in ``(tx, id)`` order. No event can then appear later behind
a cursor the feed has handed out, so reading again from any cursor gives the same events in the
same order. An event shows as soon as the transactions older than it have finished: a long
import holds back newer events until it ends, and never loses one.

Webhooks. The webhook relay (``declarations.webhook_delivery``) reads every organisation's
events by the same rule and in the same order (``EVERY_ORGANISATION``), from a cursor of its
own. Each change that writes events nudges it once its transaction commits
(``nudge_relay``), so a delivery leaves within moments; beat runs it every few seconds too.
"""

import base64
import binascii
from collections.abc import Sequence
from typing import Any, NamedTuple

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from clearance import bulk
from clearance.queue import enqueue_on_commit
from declarations.models import Declaration, Event, Status, StatusChange

# The statuses a filer sees change; a draft is the filer's own work in progress.
FILER_STATUSES = frozenset(
    {
        Status.SUBMITTED,
        Status.HELD,
        Status.UNDER_REVIEW,
        Status.INFO_REQUESTED,
        Status.AWAITING_PAYMENT,
        Status.RELEASED,
        Status.REJECTED,
        Status.SEIZED,
        Status.CANCELLED,
    }
)

# A refund's statuses, each an event ``refund.<status>`` (``refunds.models.RefundStatus``, which
# this app may not import; a test keeps the two lists equal).
REFUND_STATUSES = (
    "requested",
    "under_review",
    "awaiting_supervisor",
    "approved",
    "paid",
    "rejected",
)

STATUS_CHANGE_FIELDS = (
    "declaration",
    "from_status",
    "to_status",
    "at",
    "by",
    "by_key",
    "version",
    "note",
)


def declaration_type(status: str) -> str:
    return f"declaration.{status}"


# Every event type, in the order a person reads them; webhook endpoints subscribe to these.
EVENT_TYPES: tuple[str, ...] = (
    *(declaration_type(status) for status in Status.values if status in FILER_STATUSES),
    *(f"refund.{status}" for status in REFUND_STATUSES),
)

# At most one nudge a second: the relay reads everything committed when it runs, and beat
# runs it every few seconds besides.
NUDGE_KEY = "webhooks:relay-nudged"


def nudge_relay() -> None:
    """Run the webhook relay once the current transaction commits (nothing if it rolls
    back). A failure to queue it is logged, never raised: beat runs the relay anyway."""
    transaction.on_commit(_nudge, robust=True)


def _nudge() -> None:
    if cache.add(NUDGE_KEY, 1, timeout=1):
        enqueue_on_commit("declarations.webhook_relay")


def save_changes(changes: Sequence[StatusChange]) -> None:
    """Save status changes (their declarations saved already) and the events they make."""
    StatusChange.objects.bulk_create(changes, batch_size=3000)
    Event.objects.bulk_create(
        [
            Event(
                organisation_id=change.declaration.organisation_id,
                declaration_id=change.declaration.pk,
                type=declaration_type(change.to_status),
                state=change.to_status,
                # Only a hold's reason is told: other notes may be an officer's.
                reason=change.note if change.to_status == Status.HELD else "",
                occurred_at=change.at,
            )
            for change in changes
            if change.to_status in FILER_STATUSES
        ],
        batch_size=3000,
    )
    if any(change.to_status in FILER_STATUSES for change in changes):
        nudge_relay()


class Moved(NamedTuple):
    """One declaration's move as ``declarations_move`` writes it."""

    declaration_id: int
    from_status: str
    to_status: str
    version: int | None


def insert_moves(
    moved: Sequence[Moved], *, at: Any, user_id: int | None, key_id: int | None, note: str
) -> None:
    """Write the status changes and events of many moves, each in one statement built by the
    database (the set-based path of risk scoring and release; see ``clearance.bulk``)."""
    bulk.insert_rows(
        StatusChange,
        STATUS_CHANGE_FIELDS,
        ((m.declaration_id, m.from_status, m.to_status, at, user_id, key_id, m.version, note)
         for m in moved),
    )  # fmt: skip
    told = [m for m in moved if m.to_status in FILER_STATUSES]
    if not told:
        return
    event, declaration = Event._meta.db_table, Declaration._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {event} "  # noqa: S608 (table names from the models, values as parameters)
            "(organisation_id, declaration_id, type, state, reason, occurred_at) "
            "SELECT d.organisation_id, v.id, 'declaration.' || v.status, v.status, '', %s "
            "FROM unnest(%s::bigint[], %s::varchar[]) AS v(id, status) "
            f"JOIN {declaration} d ON d.id = v.id",
            [at, [m.declaration_id for m in told], [m.to_status for m in told]],
        )
    nudge_relay()


def record_refund(
    *, organisation_id: int, declaration_id: int, refund_id: int, status: str, at: Any
) -> None:
    """A refund's move, as an event of its declaration (called in the refund's transaction)."""
    Event.objects.create(
        organisation_id=organisation_id,
        declaration_id=declaration_id,
        refund_id=refund_id,
        type=f"refund.{status}",
        state=status,
        occurred_at=at,
    )
    nudge_relay()


# --- The feed -------------------------------------------------------------------------------

# Transactions older than this one's snapshot xmin have all finished: their events are final.
FINISHED = RawSQL("(pg_snapshot_xmin(pg_current_snapshot())::text::bigint)", [])
# The reading transaction's own id, if it has written: it sees its own events.
OWN = RawSQL("(pg_current_xact_id_if_assigned()::text::bigint)", [])


class Cursor(NamedTuple):
    tx: int
    id: int

    def encode(self) -> str:
        return base64.urlsafe_b64encode(f"{self.tx}.{self.id}".encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> "Cursor | None":
        """The cursor, or None when the text is not one this feed handed out."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            tx, _dot, pk = raw.partition(".")
            return cls(int(tx), int(pk))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None


START = Cursor(0, 0)


def feed(organisation_id: int, after: Cursor, limit: int) -> list[Event]:
    """The organisation's events after ``after``, oldest first, at most ``limit``."""
    queryset: QuerySet[Event] = (
        Event.objects.filter(organisation_id=organisation_id)
        .filter(Q(tx__lt=FINISHED) | Q(tx=OWN))
        .filter(Q(tx__gt=after.tx) | Q(tx=after.tx, id__gt=after.id))
        .select_related("declaration")
        .order_by("tx", "id")
    )
    return list(queryset[:limit])


def finished_sql(alias: str) -> str:
    """The feed's rule in SQL for every organisation's events (table ``alias``), for the
    webhook relay: finished transactions' events, and the reader's own."""
    return (
        f"({alias}.tx < (pg_snapshot_xmin(pg_current_snapshot())::text::bigint)"
        f" OR {alias}.tx = (pg_current_xact_id_if_assigned()::text::bigint))"
    )


def next_cursor(events: Sequence[Event], after: Cursor) -> Cursor:
    """Where the next read starts: after the last event given, or where this read started."""
    return Cursor(events[-1].tx, events[-1].pk) if events else after
