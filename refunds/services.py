"""Writes for refunds: requests, the officers' decisions and payouts.

Each service owns its transaction, writes the ledger rows and history rows of what it does in
that transaction, and sends side effects (notifications, payouts, PDFs) after commit. The
refund workflow is written here; payments and the provider's callbacks in ``refunds.payments``,
deferred accounts and statements in ``refunds.statements``, the amounts in ``refunds.amounts``
and every row lock, in its order, in ``refunds.locks``.

Refunds move only as ``REFUND_WORKFLOW`` allows, and every move names the status it leaves: a
refund another transaction moved first is refused, not moved again.
"""

import datetime
import uuid
from collections.abc import Collection, Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clearance.actors import Actor, stamped
from clearance.errors import ServiceError
from clearance.models import User
from clearance.money import format_money
from clearance.queue import enqueue_on_commit
from clearance.reference import currency_decimals
from clearance.services import notify
from clearance.uploads import check_upload
from declarations import events
from declarations.models import Declaration, Status
from declarations.services import lock
from refunds.amounts import amount_due, amount_refundable
from refunds.locks import lock_refund, lock_refund_if_any
from refunds.models import (
    REFUND_AWAITING_DECISION,
    REFUND_WORKFLOW,
    LedgerEntry,
    Refund,
    RefundEvidence,
    RefundStatus,
)
from refunds.providers import get_provider

RS = RefundStatus
EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
CONTENT_TYPES = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png"}


def _move(
    refund: Refund, to: str, by: User | None, note: str = "", *, leaving: str | Collection[str]
) -> None:
    """Move a locked refund from ``leaving`` (what the caller decided from) to ``to``."""
    REFUND_WORKFLOW.check(refund.status, to, leaving=leaving)
    refund.status = to
    if note:
        refund.decision_note = note[:500]
    if to in (RS.APPROVED, RS.REJECTED, RS.AWAITING_SUPERVISOR):
        refund.decided_at = timezone.now()
    stamped(refund, by).save()
    _event(refund)
    notify(
        event="refund_update",
        organisation=refund.organisation,
        context={
            "number": refund.pk,
            "status": str(RS(to).label),
            "amount": str(refund.amount),
            "currency": refund.currency,
            "note": refund.decision_note if to == RS.REJECTED else "",
        },
        url=f"/refunds/{refund.pk}/",
    )


def _event(refund: Refund) -> None:
    """The refund's new status, as an event of its declaration for the filer's systems."""
    events.record_refund(
        organisation_id=refund.organisation_id,
        declaration_id=refund.declaration_id,
        refund_id=refund.pk,
        status=refund.status,
        at=timezone.now(),
    )


# --- Asking for a refund -----------------------------------------------------------------------


def refund_request(
    *,
    declaration: Declaration,
    reason: str,
    amount: Decimal,
    actor: Actor,
    return_tracking_number: str = "",
    explanation: str = "",
    evidence: Iterable[Any] = (),
) -> Refund:
    """Ask for a refund of (part of) what was paid for a released declaration.

    The declaration row lock serialises requests for one declaration, so the refundable amount
    read here is still true at commit: the sum of refunds never exceeds what was paid.
    """
    files = list(evidence)
    if reason not in Refund.Reason.values:
        raise ServiceError(_("Choose a reason."), field="reason")
    if amount <= 0:
        raise ServiceError(_("Enter an amount greater than zero."), field="amount")
    return_tracking_number = return_tracking_number.strip()
    kinds = [check_upload(f, field="evidence", max_bytes=EVIDENCE_MAX_BYTES) for f in files]
    with transaction.atomic():
        locked = lock(declaration.pk)
        currency = _refund_currency(locked)
        amount = _in_minor_units(amount, currency)
        if reason == Refund.Reason.RETURNED:
            _check_return(locked, return_tracking_number, has_evidence=bool(files))
        _check_refundable(locked, amount, currency)
        refund = Refund(
            organisation=locked.organisation,
            declaration=locked,
            reason=reason,
            amount=amount,
            currency=currency,
            return_tracking_number=return_tracking_number,
            explanation=explanation.strip(),
            requested_by=actor.user,
        )
        stamped(refund, actor.user).save()
        _event(refund)
        for upload, kind in zip(files, kinds, strict=True):
            _evidence_store(refund, upload, kind)
        if _auto_approves(refund, len(files)):
            refund.auto_approved = True
            note = _("Approved automatically by the rules.")
            _move(refund, RS.APPROVED, actor.user, note, leaving=RS.REQUESTED)
            enqueue_on_commit("refunds.pay_out_refund", refund.pk)
        else:
            _move(refund, RS.UNDER_REVIEW, actor.user, leaving=RS.REQUESTED)
    return refund


def _refund_currency(declaration: Declaration) -> str:
    """The currency the declaration was paid in; refused unless it is released and paid."""
    _due, currency = amount_due(declaration)
    if declaration.status != Status.RELEASED or not currency:
        raise ServiceError(
            _("Only a released declaration that was paid can be refunded."),
            code="not_refundable",
        )
    return currency


def _in_minor_units(amount: Decimal, currency: str) -> Decimal:
    """The amount in the currency's minor unit; refused if it has more decimals than that."""
    places = currency_decimals(currency)
    minor = Decimal(1).scaleb(-places)
    if amount != amount.quantize(minor):
        raise ServiceError(
            _("%(currency)s amounts have at most %(places)d decimals.")
            % {"currency": currency, "places": places},
            field="amount",
        )
    return amount.quantize(minor)


def _check_return(declaration: Declaration, tracking_number: str, *, has_evidence: bool) -> None:
    """Returned goods: the parcel's tracking number, evidence, and within the return period."""
    if not tracking_number:
        raise ServiceError(
            _("Enter the tracking number of the parcel you sent back."),
            field="return_tracking_number",
        )
    if not has_evidence:
        raise ServiceError(
            _("Add evidence that the goods went back (a photo or a receipt)."),
            field="evidence",
        )
    period = datetime.timedelta(days=settings.REFUND_RETURN_PERIOD_DAYS)
    if declaration.released_at is None or timezone.now() - declaration.released_at > period:
        raise ServiceError(
            _("Returned goods are refunded only within %(days)d days of release.")
            % {"days": settings.REFUND_RETURN_PERIOD_DAYS},
            code="too_late",
        )


def _check_refundable(declaration: Declaration, amount: Decimal, currency: str) -> None:
    refundable = amount_refundable(declaration)
    if amount > refundable:
        raise ServiceError(
            _("At most %(amount)s can be refunded.")
            % {"amount": format_money(refundable, currency)},
            field="amount",
            code="over_refundable",
        )


def _evidence_store(refund: Refund, upload: Any, kind: str) -> None:
    item = RefundEvidence(
        refund=refund,
        original_name=str(upload.name or "evidence").rsplit("/", 1)[-1][:200],
        content_type=CONTENT_TYPES[kind],
        size=upload.size,
    )
    item.file.save(f"{uuid.uuid4().hex}.{kind}", upload, save=False)
    item.save()


def _auto_approves(refund: Refund, evidence_count: int) -> bool:
    """The configurable rules: a listed reason, evidence, and an amount within the limit."""
    return (
        refund.reason in settings.REFUND_AUTO_APPROVE_REASONS
        and evidence_count > 0
        and refund.amount <= Decimal(settings.REFUND_AUTO_APPROVE_LIMIT)
    )


# --- Deciding and paying out -------------------------------------------------------------------


def refund_approve(*, refund_id: int, by: User, note: str = "") -> Refund:
    """An officer approves; above the supervisor threshold a supervisor, another person, must
    approve as well. Approved refunds are paid out after commit."""
    with transaction.atomic():
        refund = lock_refund(refund_id)
        if refund.status == RS.UNDER_REVIEW:
            if not by.has_role("officer", "supervisor"):
                raise ServiceError(_("Only officers approve refunds."), code="forbidden")
            refund.approved_by = by
            if refund.amount > Decimal(settings.REFUND_SUPERVISOR_THRESHOLD):
                _move(refund, RS.AWAITING_SUPERVISOR, by, note, leaving=RS.UNDER_REVIEW)
                return refund
        elif refund.status == RS.AWAITING_SUPERVISOR:
            if not by.has_role("supervisor"):
                raise ServiceError(_("A supervisor must approve this refund."), code="forbidden")
            if refund.approved_by_id == by.pk:
                raise ServiceError(
                    _("Another person must give the second approval."), code="four_eyes"
                )
            refund.supervisor = by
        # Any other status is refused here, in the workflow's words.
        _move(refund, RS.APPROVED, by, note, leaving=REFUND_AWAITING_DECISION)
        enqueue_on_commit("refunds.pay_out_refund", refund.pk)
    return refund


def refund_reject(*, refund_id: int, by: User, note: str) -> Refund:
    if not note.strip():
        raise ServiceError(_("Say why the refund is rejected."), field="note")
    if not by.has_role("officer", "supervisor"):
        raise ServiceError(_("Only officers reject refunds."), code="forbidden")
    with transaction.atomic():
        refund = lock_refund(refund_id)
        _move(refund, RS.REJECTED, by, note.strip(), leaving=REFUND_AWAITING_DECISION)
    return refund


def refund_pay_out(*, refund_id: int) -> bool:
    """Pay an approved refund through the provider, exactly once: the row lock and the status
    check make every other caller (a retry, the sweeper, a second worker) a no-op.
    Returns whether this call paid it."""
    provider = get_provider()
    with transaction.atomic():
        refund = lock_refund_if_any(refund_id)
        if refund is None or refund.status != RS.APPROVED:
            return False
        refund.payout_reference = provider.pay_out(refund)
        refund.paid_at = timezone.now()
        _move(refund, RS.PAID, None, leaving=RS.APPROVED)
        common = {
            "organisation_id": refund.organisation_id,
            "currency": refund.currency,
            "declaration_id": refund.declaration_id,
            "refund": refund,
            "note": refund.payout_reference or "",
        }
        # The money going back, and the charge it reduces: the balance is unchanged.
        LedgerEntry(kind=LedgerEntry.Kind.REFUND, amount=refund.amount, **common).save()
        LedgerEntry(kind=LedgerEntry.Kind.ADJUSTMENT, amount=-refund.amount, **common).save()
        enqueue_on_commit("refunds.render_refund_receipt", refund.pk, document=True)
    return True
