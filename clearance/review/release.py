"""Release: the one way goods leave customs, whichever path decides it.

Every path calls this module: risk scoring's green lane (``release_locked``, a set at a time),
an officer's decision, a settled payment and a deferred account (``declaration_release``, one
declaration). Each release:

1. locks the declaration (a set in primary-key order, as every writer does) and checks it is
   in the status the caller expects to leave: a declaration amended meanwhile is back in
   ``submitted`` and is refused, so a payment that arrives with an amendment never releases
   the new, unscored version;
2. refuses anything not fully assessed: a held version (no amounts: no regime or exchange rate
   was in force) and, from ``submitted``, a version that risk scoring has not scored;
3. records the move with its actor (a history row and a status change, in the same
   transaction);
4. issues the release notice (its verification code works at once) and queues its PDF on the
   documents queue, which workers read after the clearance queue;
5. tells the filer: one notification per organisation and call, by email when one declaration
   is released, in the portal only when a batch is (a platform's thousand would otherwise
   fill its members' mailboxes).

Refusals are ``ServiceError``s in words.
"""

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from clearance.actors import Actor
from clearance.errors import ServiceError
from clearance.models import Organisation
from clearance.queue import enqueue_on_commit
from clearance.review.models import ReleaseNotice
from clearance.risk.models import RiskScore
from clearance.services import notify
from declarations.models import Declaration, Status
from declarations.services import Move, declarations_move, lock

# PDFs per rendering task: small enough that a task never holds a worker for long.
RENDER_CHUNK = 50

_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O or 1/I to misread


def new_code() -> str:
    """A verification code like ``K7QW-3MZP-9XRT``: 60 random bits, easy to read aloud."""
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _i in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalise_code(text: str) -> str:
    raw = "".join(c for c in text.upper() if c.isalnum())
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}" if len(raw) == 12 else ""


def issue_release_notices(declaration_ids: Iterable[int]) -> list[ReleaseNotice]:
    """A release notice with a code of its own for each released declaration that has none."""
    ids = list(declaration_ids)
    have = set(
        ReleaseNotice.objects.filter(declaration_id__in=ids).values_list(
            "declaration_id", flat=True
        )
    )
    notices = [ReleaseNotice(declaration_id=pk, code=new_code()) for pk in ids if pk not in have]
    return ReleaseNotice.objects.bulk_create(notices, ignore_conflicts=True)


def queue_render(declaration_ids: Sequence[int]) -> None:
    """Have workers render these notices' PDFs after commit."""
    for start in range(0, len(declaration_ids), RENDER_CHUNK):
        chunk = list(declaration_ids[start : start + RENDER_CHUNK])
        enqueue_on_commit("clearance.render_release_notices", chunk, document=True)


@dataclass(frozen=True)
class Releasable:
    """What the release checks of a declaration the caller has locked."""

    declaration_id: int
    status: str
    version: int
    held: bool
    scored: bool
    organisation_id: int
    system_reference: str
    reference: str
    lane: str | None = None  # a lane to set with the move (risk scoring's)


def releasables(ids: Iterable[int]) -> list[Releasable]:
    """The facts the release checks, read in one query, in primary-key order."""
    rows = (
        Declaration.objects.filter(pk__in=list(ids), versions__number=F("version"))
        .annotate(
            scored=Exists(
                RiskScore.objects.filter(declaration=OuterRef("pk"), version=OuterRef("version"))
            )
        )
        .order_by("pk")
        .values_list(
            "pk",
            "status",
            "version",
            "versions__held",
            "scored",
            "organisation_id",
            "system_reference",
            "reference",
        )
    )
    return [Releasable(*row) for row in rows]


def _refusal(row: Releasable, expected: Iterable[str]) -> str | None:
    if row.status not in expected:
        return _("%(reference)s cannot be released: it is %(status)s, not %(expected)s.") % {
            "reference": row.system_reference,
            "status": Status(row.status).label,
            "expected": _(" or ").join(str(Status(s).label) for s in expected),
        }
    if row.held:
        return _(
            "%(reference)s cannot be released: it is not assessed yet (no regime or exchange "
            "rate was in force on its date), so nothing says what it owes."
        ) % {"reference": row.system_reference}
    if row.status == Status.SUBMITTED and not row.scored:
        return _(
            "%(reference)s cannot be released: its version %(version)s has not been risk-scored."
        ) % {"reference": row.system_reference, "version": row.version}
    return None


def release_locked(
    rows: Sequence[Releasable],
    *,
    leaving: Iterable[str],
    actor: Actor,
    at: Any = None,
    note: str = "",
) -> list[int]:
    """Release declarations the caller has locked (``declarations.services.lock_many``) in
    its transaction; refuses the whole set if any one may not be released. Returns their ids."""
    expected = tuple(leaving)
    for row in rows:
        refusal = _refusal(row, expected)
        if refusal is not None:
            raise ServiceError(refusal, field="status", code="not_releasable")
    if not rows:
        return []
    at = at or timezone.now()
    declarations_move(
        moves=[Move(r.declaration_id, r.status, r.version, Status.RELEASED, r.lane) for r in rows],
        actor=actor,
        at=at,
        note=note,
    )
    ids = [r.declaration_id for r in rows]
    issue_release_notices(ids)
    queue_render(ids)
    _tell(rows)
    return ids


def declaration_release(
    *, declaration_id: int, leaving: str | Iterable[str], actor: Actor, note: str = ""
) -> None:
    """Release one declaration (``release_locked``), locking it in its own transaction or the
    caller's."""
    statuses = (leaving,) if isinstance(leaving, str) else tuple(leaving)
    with transaction.atomic():
        locked = lock(declaration_id)
        rows = releasables([declaration_id])
        if not rows:
            raise ServiceError(
                _("%(reference)s cannot be released: it was never submitted.")
                % {"reference": locked.system_reference},
                field="status",
                code="not_releasable",
            )
        release_locked(rows, leaving=statuses, actor=actor, note=note)


def _tell(rows: Sequence[Releasable]) -> None:
    by_organisation: dict[int, list[Releasable]] = {}
    for row in rows:
        by_organisation.setdefault(row.organisation_id, []).append(row)
    for organisation in Organisation.objects.filter(pk__in=by_organisation):
        released = by_organisation[organisation.pk]
        if len(released) == 1:
            [one] = released
            notify(
                event="declaration_released",
                organisation=organisation,
                context={"reference": one.system_reference, "your_reference": one.reference},
                url=f"/declarations/{one.declaration_id}/",
            )
        else:
            notify(
                event="declarations_released",
                organisation=organisation,
                context={
                    "count": len(released),
                    "references": [r.system_reference for r in released[:5]],
                },
                url="/declarations/?status=released",
                email=False,
            )
