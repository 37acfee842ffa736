"""Writes for payments, deferred accounts, statements and refunds.

Each service owns its transaction, writes the ledger rows and history rows of what it does in
that transaction, and sends side effects (notifications, payouts, PDFs) after commit.

Locks: a refund request locks its declaration (``declarations.services.lock``); a callback
locks its payment, then the declaration it releases; a payout locks its refund. Nothing locks a
payment while holding a declaration, so these orders cannot deadlock.

Money is rounded once, when an amount enters the portal: a declaration's due amount is already
rounded by the assessment to the currency's minor unit, and a refund's requested amount must
have no more decimals than its currency has.

Release goes through ``clearance.release`` (the one way goods leave): a payment releases its
declaration only if it is still awaiting payment when the payment settles, under its lock, and
nothing more is outstanding. A declaration amended meanwhile (back to submitted, a new version
to score) is not released by the payment; once scored, the pipeline sends it to payment again
and ``release_settled`` releases it if what was paid covers the new assessment, or the filer
pays the difference (``payment_start`` asks only for what is outstanding).

The risk pipeline (and an officer's release with something due) queues ``release_settled``:
a declaration whose organisation has a deferred account in good standing is released at once
and charged on the monthly statement (``deferred_release``); otherwise the filer pays online.
"""

import calendar
import datetime
import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from clearance.actors import Actor, stamped
from clearance.errors import ServiceError
from clearance.models import Organisation, User
from clearance.money import format_money
from clearance.queue import enqueue_on_commit
from clearance.reference import currency_decimals
from clearance.review import release
from clearance.services import notify
from clearance.uploads import check_upload
from declarations.models import Declaration, Status
from declarations.services import lock
from refunds.models import (
    REFUND_HOLDING,
    REFUND_WORKFLOW,
    ZERO,
    DeferredAccount,
    LedgerEntry,
    Payment,
    ProviderEvent,
    Refund,
    RefundEvidence,
    RefundStatus,
    Statement,
    StatementLine,
)
from refunds.providers import CallbackEvent, get_provider

RS = RefundStatus
EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
CONTENT_TYPES = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png"}


# --- Amounts -----------------------------------------------------------------------------------


def amount_due(declaration: Declaration) -> tuple[Decimal, str]:
    """What the latest assessment says is due, and its currency (zero if none)."""
    version = declaration.latest_version
    if version is None or version.held:
        return ZERO, ""
    return version.total_due, version.assessment_currency


def amount_paid(declaration: Declaration) -> Decimal:
    """Paid online for this declaration, plus its lines on paid statements."""
    online = Payment.objects.filter(
        declaration=declaration, status=Payment.Status.SETTLED
    ).aggregate(total=Sum("amount"))["total"]
    on_statements = StatementLine.objects.filter(
        declaration=declaration, statement__status=Statement.Status.PAID
    ).aggregate(total=Sum("amount"))["total"]
    return (online or ZERO) + (on_statements or ZERO)


def amount_refundable(declaration: Declaration) -> Decimal:
    """Paid minus every refund that holds an amount (asked, approved or paid)."""
    held = Refund.objects.filter(declaration=declaration, status__in=REFUND_HOLDING).aggregate(
        total=Sum("amount")
    )["total"]
    return amount_paid(declaration) - (held or ZERO)


def amount_outstanding(declaration: Declaration) -> Decimal:
    """What the latest assessment asks and nothing has paid yet (never below zero)."""
    due, _currency = amount_due(declaration)
    return max(due - amount_paid(declaration), ZERO)


def _charge(declaration: Declaration, *, deferred: bool, by: User | None) -> LedgerEntry | None:
    """Charge what the latest version's assessment asks beyond what earlier versions were
    charged: once per version (a unique constraint), so a second call returns the first."""
    charges = LedgerEntry.objects.filter(declaration=declaration, kind=LedgerEntry.Kind.CHARGE)
    existing = charges.filter(version=declaration.version).first()
    if existing is not None:
        return existing
    due, currency = amount_due(declaration)
    charged = charges.aggregate(total=Sum("amount"))["total"] or ZERO
    if due - charged <= 0:
        return None
    entry = LedgerEntry(
        organisation_id=declaration.organisation_id,
        kind=LedgerEntry.Kind.CHARGE,
        amount=due - charged,
        currency=currency,
        declaration=declaration,
        version=declaration.version,
        deferred=deferred,
        created_by=by,
        note=declaration.system_reference,
    )
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError:
        return charges.get(version=declaration.version)
    return entry


# --- Payments ----------------------------------------------------------------------------------


def payment_start(
    *,
    actor: Actor,
    declaration: Declaration | None = None,
    statement: Statement | None = None,
) -> tuple[Payment, str]:
    """Open (or reuse) the payment of a declaration awaiting payment, for what is outstanding,
    or of a statement, and return it with the provider's page to send the payer to."""
    provider = get_provider()
    with transaction.atomic():
        if declaration is not None:
            locked = lock(declaration.pk)
            if locked.status != Status.AWAITING_PAYMENT:
                raise ServiceError(
                    _("This declaration is not waiting for payment."), code="not_payable"
                )
            due, currency = amount_due(locked)
            if due <= 0:
                raise ServiceError(_("Nothing is due on this declaration."), code="not_payable")
            amount = amount_outstanding(locked)
            if amount <= 0:
                raise ServiceError(_("This is already paid."), code="already_paid")
            _charge(locked, deferred=False, by=actor.user)
            target: dict[str, Any] = {"declaration": locked}
            organisation_id = locked.organisation_id
        elif statement is not None:
            statement = Statement.objects.select_for_update().get(pk=statement.pk)
            if statement.status == Statement.Status.PAID:
                raise ServiceError(_("This statement is already paid."), code="not_payable")
            amount, currency = statement.total, statement.currency
            target = {"statement": statement}
            organisation_id = statement.organisation_id
        else:
            raise ServiceError(_("Say what to pay."), code="invalid")
        live = Payment.objects.filter(**target, status=Payment.Status.PENDING).first()
        if (
            statement is not None
            and Payment.objects.filter(**target, status=Payment.Status.SETTLED).exists()
        ):
            raise ServiceError(_("This is already paid."), code="already_paid")
        if live is not None and live.amount != amount:
            # Opened before an amendment changed what is due: a payment of the old amount
            # must not settle the new one.
            live.status = Payment.Status.FAILED
            stamped(live, actor.user).save(update_fields=["status"])
            live = None
        payment = live or Payment(
            organisation_id=organisation_id,
            amount=amount,
            currency=currency,
            provider=provider.name,
            reference=f"pay_{uuid.uuid4().hex}",
            created_by=actor.user,
            **target,
        )
        if live is None:
            stamped(payment, actor.user).save()
    return_url = reverse("payment_detail", args=[payment.pk])
    checkout = provider.start_payment(payment, return_url=return_url)
    if checkout.provider_reference and checkout.provider_reference != payment.provider_reference:
        payment.provider_reference = checkout.provider_reference
        with transaction.atomic():
            stamped(payment, actor.user).save(update_fields=["provider_reference"])
    return payment, checkout.url


def callback_receive(*, headers: Mapping[str, str], raw_body: bytes) -> str:
    """Verify a provider callback, store it once by its event id, and settle at most once.

    Returns what happened: ``settled``, ``failed``, ``duplicate``, ``ignored`` (an event that
    arrives after the payment already moved on, e.g. a failure after success), ``late_success``
    (a success after a failure, when another payment of the same thing was opened since),
    ``amount_mismatch`` or ``unknown_payment``. A success after a failure settles the payment
    when nothing else paid for the same thing. Raises ``CallbackRefused`` for a callback that
    is not authentic or not fresh; nothing is stored then.
    """
    provider = get_provider()
    return _receive(provider.name, provider.verify_callback(headers, raw_body))


def payment_reconcile(*, payment: Payment) -> str:
    """Ask the provider what became of a payment still pending (its callback may have been
    lost) and apply the answer as a callback would be. Returns the outcome, or ``pending``."""
    provider = get_provider()
    if payment.status != Payment.Status.PENDING or payment.provider != provider.name:
        return "ignored"
    event = provider.payment_status(payment)
    if event is None:
        return "pending"
    return _receive(provider.name, event)


def _receive(provider_name: str, event: CallbackEvent) -> str:
    with transaction.atomic():
        # The payment row lock serialises deliveries of one payment's events; the unique event
        # id makes a replay (even one that waited on the lock) a no-op.
        payment = (
            Payment.objects.select_for_update().filter(reference=event.payment_reference).first()
        )
        record = ProviderEvent(
            provider=provider_name,
            event_id=event.event_id,
            kind=event.kind,
            payment=payment,
            payload=event.payload,
        )
        record.outcome = _apply(payment, event) if payment is not None else "unknown_payment"
        try:
            with transaction.atomic():
                record.save()
        except IntegrityError:
            transaction.set_rollback(True)
            return "duplicate"
    return record.outcome


def _apply(payment: Payment, event: CallbackEvent) -> str:
    if payment.status == Payment.Status.FAILED and event.kind == "payment.succeeded":
        # Out of order: the money was taken after all. Settle it unless another payment of
        # the same thing has been opened since (then the money is a duplicate payment, which
        # the payer claims back as a refund).
        target = (
            {"declaration_id": payment.declaration_id}
            if payment.declaration_id is not None
            else {"statement_id": payment.statement_id}
        )
        if Payment.objects.filter(
            **target, status__in=[Payment.Status.PENDING, Payment.Status.SETTLED]
        ).exists():
            return "late_success"
    elif payment.status != Payment.Status.PENDING:
        return "ignored"
    if event.kind == "payment.failed":
        payment.status = Payment.Status.FAILED
        stamped(payment, None).save(update_fields=["status"])
        return "failed"
    if event.kind != "payment.succeeded":
        return "ignored"
    if event.amount != payment.amount or event.currency != payment.currency:
        return "amount_mismatch"
    _settle(payment)
    return "settled"


def _settle(payment: Payment) -> None:
    now = timezone.now()
    payment.status = Payment.Status.SETTLED
    payment.settled_at = now
    stamped(payment, None).save(update_fields=["status", "settled_at"])
    LedgerEntry(
        organisation_id=payment.organisation_id,
        kind=LedgerEntry.Kind.PAYMENT,
        amount=-payment.amount,
        currency=payment.currency,
        declaration_id=payment.declaration_id,
        payment=payment,
        note=payment.reference,
    ).save()
    if payment.declaration_id is not None:
        _release_if_paid(
            payment.declaration_id,
            note=_("Paid online (%(reference)s).") % {"reference": payment.reference},
        )
    if payment.statement_id is not None:
        statement = Statement.objects.select_for_update().get(pk=payment.statement_id)
        statement.status = Statement.Status.PAID
        statement.paid_at = now
        stamped(statement, None).save(update_fields=["status", "paid_at"])
        _reinstate_deferral(statement.organisation_id)
    organisation = Organisation.objects.get(pk=payment.organisation_id)
    notify(
        event="payment_received",
        organisation=organisation,
        context={
            "reference": payment.reference,
            "amount": str(payment.amount),
            "currency": payment.currency,
        },
        url=f"/payments/{payment.pk}/",
    )
    enqueue_on_commit("refunds.render_payment_receipt", payment.pk, document=True)


def _release_if_paid(declaration_id: int, *, note: str) -> bool:
    """Release a declaration awaiting payment once nothing is outstanding. Read under its lock:
    one amended meanwhile is no longer awaiting payment and stays where it is."""
    locked = lock(declaration_id)
    if locked.status != Status.AWAITING_PAYMENT or amount_outstanding(locked) > 0:
        return False
    release.declaration_release(
        declaration_id=locked.pk, expected=Status.AWAITING_PAYMENT, actor=Actor(), note=note
    )
    return True


# --- Deferred accounts and statements ----------------------------------------------------------


def deferral_applies(organisation: Organisation) -> bool:
    """True when the organisation has an approved deferred account that is not suspended:
    its declarations are then released before payment and charged on the monthly statement."""
    return DeferredAccount.objects.filter(
        organisation=organisation, suspended_at__isnull=True
    ).exists()


def deferred_account_open(*, organisation: Organisation, by: User | None) -> DeferredAccount:
    with transaction.atomic():
        account, created = DeferredAccount.objects.select_for_update().get_or_create(
            organisation=organisation, defaults={"approved_by": by}
        )
        if not created and account.suspended_at is not None:
            account.suspended_at = None
            account.suspended_reason = ""
            stamped(account, by).save()
    return account


def deferred_release(*, declaration: Declaration, actor: Actor) -> Declaration:
    """Release a declaration awaiting payment on its organisation's deferred account, and
    charge it there."""
    with transaction.atomic():
        locked = lock(declaration.pk)
        if not deferral_applies(locked.organisation):
            raise ServiceError(_("This organisation has no deferred account in good standing."))
        if locked.status == Status.AWAITING_PAYMENT:
            _charge(locked, deferred=True, by=actor.user)
        release.declaration_release(
            declaration_id=locked.pk,
            expected=Status.AWAITING_PAYMENT,
            actor=actor,
            note=_("Released on the deferred account."),
        )
    return Declaration.objects.get(pk=locked.pk)


def release_settled(*, declaration_ids: Iterable[int]) -> int:
    """Release the declarations among these that await payment and need none now: on a deferred
    account in good standing (charged on the statement), or already paid in full (a payment
    that settled while an amendment was being scored). Returns how many it released."""
    released = 0
    for pk in _maybe_settled(declaration_ids):
        with transaction.atomic():
            locked = lock(pk)
            if locked.status != Status.AWAITING_PAYMENT:
                continue
            if deferral_applies(locked.organisation):
                deferred_release(declaration=locked, actor=Actor())
                released += 1
            elif _release_if_paid(pk, note=_("Paid before the last assessment.")):
                released += 1
    return released


def _maybe_settled(declaration_ids: Iterable[int]) -> list[int]:
    """Those of these awaiting payment whose organisation defers or which something has paid:
    the only ones ``release_settled`` must look at under a lock. Three queries for a set,
    whatever its size, since the pipeline sends a thousand at a time and nearly all of them
    simply wait for their payment."""
    waiting = dict(
        Declaration.objects.filter(
            pk__in=list(declaration_ids), status=Status.AWAITING_PAYMENT
        ).values_list("pk", "organisation_id")
    )
    deferring = set(
        DeferredAccount.objects.filter(
            organisation_id__in=set(waiting.values()), suspended_at__isnull=True
        ).values_list("organisation_id", flat=True)
    )
    paid = set(
        Payment.objects.filter(
            declaration_id__in=list(waiting), status=Payment.Status.SETTLED
        ).values_list("declaration_id", flat=True)
    ) | set(
        StatementLine.objects.filter(
            declaration_id__in=list(waiting), statement__status=Statement.Status.PAID
        ).values_list("declaration_id", flat=True)
    )
    return sorted(pk for pk, org in waiting.items() if org in deferring or pk in paid)


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def statements_issue(*, period: datetime.date) -> list[Statement]:
    """The statements of one month: every deferred charge of that month not yet on a statement,
    per organisation and currency. Running it twice issues nothing new."""
    start = month_start(period)
    last = calendar.monthrange(start.year, start.month)[1]
    tz = timezone.get_current_timezone()
    since = datetime.datetime.combine(start, datetime.time.min, tzinfo=tz)
    until = datetime.datetime.combine(start.replace(day=last), datetime.time.max, tzinfo=tz)
    charges = LedgerEntry.objects.filter(
        kind=LedgerEntry.Kind.CHARGE,
        deferred=True,
        created_at__range=(since, until),
        statement_line__isnull=True,
    ).order_by("organisation_id", "currency", "created_at", "id")
    groups: dict[tuple[int, str], list[LedgerEntry]] = {}
    for charge in charges:
        groups.setdefault((charge.organisation_id, charge.currency), []).append(charge)
    issued = []
    due_on = timezone.localdate() + datetime.timedelta(days=settings.STATEMENT_PAYMENT_DAYS)
    for (organisation_id, currency), entries in groups.items():
        with transaction.atomic():
            if Statement.objects.filter(
                organisation_id=organisation_id, period=start, currency=currency
            ).exists():
                continue
            statement = Statement(
                organisation_id=organisation_id,
                period=start,
                currency=currency,
                total=sum((e.amount for e in entries), ZERO),
                due_on=due_on,
            )
            stamped(statement, None).save()
            StatementLine.objects.bulk_create(
                StatementLine(
                    statement=statement,
                    charge=e,
                    declaration_id=e.declaration_id or 0,
                    amount=e.amount,
                )
                for e in entries
            )
            notify(
                event="statement_issued",
                organisation=Organisation.objects.get(pk=organisation_id),
                context={
                    "period": start.strftime("%Y-%m"),
                    "total": str(statement.total),
                    "currency": currency,
                    "due_on": due_on.isoformat(),
                },
                url="/payments/",
            )
            enqueue_on_commit("refunds.render_statement", statement.pk, document=True)
            issued.append(statement)
    return issued


def statements_mark_overdue(*, today: datetime.date) -> int:
    """Unpaid statements past their due date become overdue; past the grace days, the
    organisation's deferral is suspended until it pays. Returns how many accounts it suspended."""
    suspended = 0
    grace = datetime.timedelta(days=settings.DEFERRAL_SUSPEND_AFTER_DAYS)
    with transaction.atomic():
        for statement in Statement.objects.select_for_update().filter(
            status=Statement.Status.ISSUED, due_on__lt=today
        ):
            statement.status = Statement.Status.OVERDUE
            stamped(statement, None).save(update_fields=["status"])
        late = {
            statement.organisation_id: statement
            for statement in Statement.objects.filter(
                status=Statement.Status.OVERDUE, due_on__lt=today - grace
            ).order_by("-due_on")
        }
        for account in (
            DeferredAccount.objects.select_for_update()
            .filter(organisation_id__in=list(late), suspended_at__isnull=True)
            .select_related("organisation")
        ):
            account.suspended_at = timezone.now()
            account.suspended_reason = "overdue_statement"
            stamped(account, None).save()
            statement = late[account.organisation_id]
            notify(
                event="deferral_suspended",
                organisation=account.organisation,
                context={
                    "period": statement.period.strftime("%Y-%m"),
                    "total": str(statement.total),
                    "currency": statement.currency,
                    "due_on": statement.due_on.isoformat(),
                },
                url="/payments/",
            )
            suspended += 1
    return suspended


def _reinstate_deferral(organisation_id: int) -> None:
    if Statement.objects.filter(
        organisation_id=organisation_id, status=Statement.Status.OVERDUE
    ).exists():
        return
    account = (
        DeferredAccount.objects.select_for_update()
        .filter(organisation_id=organisation_id, suspended_reason="overdue_statement")
        .first()
    )
    if account is not None:
        account.suspended_at = None
        account.suspended_reason = ""
        stamped(account, None).save()


# --- Refunds -----------------------------------------------------------------------------------


def _lock_refund(refund_id: int) -> Refund:
    return (
        Refund.objects.select_for_update(of=("self",))
        .select_related("organisation")
        .get(pk=refund_id)
    )


def _move(refund: Refund, to: str, by: User | None, note: str = "") -> None:
    REFUND_WORKFLOW.check(refund.status, to)
    refund.status = to
    if note:
        refund.decision_note = note[:500]
    if to in (RS.APPROVED, RS.REJECTED, RS.AWAITING_SUPERVISOR):
        refund.decided_at = timezone.now()
    stamped(refund, by).save()
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


def _evidence_file(upload: Any) -> str:
    return check_upload(upload, field="evidence", max_bytes=EVIDENCE_MAX_BYTES)


def _auto_approves(refund: Refund, evidence_count: int) -> bool:
    """The configurable rules: a listed reason, evidence, and an amount within the limit."""
    return (
        refund.reason in settings.REFUND_AUTO_APPROVE_REASONS
        and evidence_count > 0
        and refund.amount <= Decimal(settings.REFUND_AUTO_APPROVE_LIMIT)
    )


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
    kinds = [_evidence_file(f) for f in files]
    with transaction.atomic():
        locked = lock(declaration.pk)
        _due, currency = amount_due(locked)
        if locked.status != Status.RELEASED or not currency:
            raise ServiceError(
                _("Only a released declaration that was paid can be refunded."),
                code="not_refundable",
            )
        places = currency_decimals(currency)
        minor = Decimal(1).scaleb(-places)
        if amount != amount.quantize(minor):
            raise ServiceError(
                _("%(currency)s amounts have at most %(places)d decimals.")
                % {"currency": currency, "places": places},
                field="amount",
            )
        if reason == Refund.Reason.RETURNED:
            if not return_tracking_number:
                raise ServiceError(
                    _("Enter the tracking number of the parcel you sent back."),
                    field="return_tracking_number",
                )
            if not files:
                raise ServiceError(
                    _("Add evidence that the goods went back (a photo or a receipt)."),
                    field="evidence",
                )
            period = datetime.timedelta(days=settings.REFUND_RETURN_PERIOD_DAYS)
            if locked.released_at is None or timezone.now() - locked.released_at > period:
                raise ServiceError(
                    _("Returned goods are refunded only within %(days)d days of release.")
                    % {"days": settings.REFUND_RETURN_PERIOD_DAYS},
                    code="too_late",
                )
        amount = amount.quantize(minor)
        refundable = amount_refundable(locked)
        if amount > refundable:
            raise ServiceError(
                _("At most %(amount)s can be refunded.")
                % {"amount": format_money(refundable, currency)},
                field="amount",
                code="over_refundable",
            )
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
        for upload, kind in zip(files, kinds, strict=True):
            item = RefundEvidence(
                refund=refund,
                original_name=str(upload.name or "evidence").rsplit("/", 1)[-1][:200],
                content_type=CONTENT_TYPES[kind],
                size=upload.size,
            )
            item.file.save(f"{uuid.uuid4().hex}.{kind}", upload, save=False)
            item.save()
        if _auto_approves(refund, len(files)):
            refund.auto_approved = True
            _move(refund, RS.APPROVED, actor.user, _("Approved automatically by the rules."))
            enqueue_on_commit("refunds.pay_out_refund", refund.pk)
        else:
            _move(refund, RS.UNDER_REVIEW, actor.user)
    return refund


def refund_approve(*, refund_id: int, by: User, note: str = "") -> Refund:
    """An officer approves; above the supervisor threshold a supervisor, another person, must
    approve as well. Approved refunds are paid out after commit."""
    with transaction.atomic():
        refund = _lock_refund(refund_id)
        if refund.status == RS.UNDER_REVIEW:
            if not by.has_role("officer", "supervisor"):
                raise ServiceError(_("Only officers approve refunds."), code="forbidden")
            refund.approved_by = by
            if refund.amount > Decimal(settings.REFUND_SUPERVISOR_THRESHOLD):
                _move(refund, RS.AWAITING_SUPERVISOR, by, note)
                return refund
        elif refund.status == RS.AWAITING_SUPERVISOR:
            if not by.has_role("supervisor"):
                raise ServiceError(_("A supervisor must approve this refund."), code="forbidden")
            if refund.approved_by_id == by.pk:
                raise ServiceError(
                    _("Another person must give the second approval."), code="four_eyes"
                )
            refund.supervisor = by
        _move(refund, RS.APPROVED, by, note)
        enqueue_on_commit("refunds.pay_out_refund", refund.pk)
    return refund


def refund_reject(*, refund_id: int, by: User, note: str) -> Refund:
    if not note.strip():
        raise ServiceError(_("Say why the refund is rejected."), field="note")
    if not by.has_role("officer", "supervisor"):
        raise ServiceError(_("Only officers reject refunds."), code="forbidden")
    with transaction.atomic():
        refund = _lock_refund(refund_id)
        _move(refund, RS.REJECTED, by, note.strip())
    return refund


def refund_pay_out(*, refund_id: int) -> bool:
    """Pay an approved refund through the provider, exactly once: the row lock and the status
    check make every other caller (a retry, the sweeper, a second worker) a no-op.
    Returns whether this call paid it."""
    provider = get_provider()
    with transaction.atomic():
        refund = (
            Refund.objects.select_for_update(of=("self",))
            .select_related("organisation")
            .filter(pk=refund_id)
            .first()
        )
        if refund is None or refund.status != RS.APPROVED:
            return False
        refund.payout_reference = provider.pay_out(refund)
        refund.paid_at = timezone.now()
        _move(refund, RS.PAID, None)
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
