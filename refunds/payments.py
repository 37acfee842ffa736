"""Payments through the provider, its callbacks, and the release of what they pay for.

Release goes through ``clearance.review.release`` (the one way goods leave): a payment releases its
declaration only if it is still awaiting payment when the payment settles, under its lock, and
nothing more is outstanding. A declaration amended meanwhile (back to submitted, a new version
to score) is not released by the payment; once scored, the pipeline sends it to payment again
and ``release_settled`` releases it if what was paid covers the new assessment, or the filer
pays the difference (``payment_start`` asks only for what is outstanding).

The risk pipeline (and an officer's release with something due) queues ``release_settled``:
a declaration whose organisation has a deferred account in good standing is released at once
and charged on the monthly statement (``deferred_release``); otherwise the filer pays online.
"""

import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from clearance.actors import Actor, stamped
from clearance.errors import ServiceError
from clearance.models import Organisation, User
from clearance.queue import enqueue_on_commit
from clearance.review import release
from clearance.services import notify
from declarations.models import Declaration, Status
from declarations.services import lock
from refunds.amounts import amount_due, amount_outstanding, charge
from refunds.locks import lock_payment, lock_statement
from refunds.models import (
    DeferredAccount,
    LedgerEntry,
    Payment,
    ProviderEvent,
    Statement,
    StatementLine,
)
from refunds.providers import CallbackEvent, get_provider
from refunds.statements import deferral_applies, deferred_release, statement_mark_paid

# --- Paying ------------------------------------------------------------------------------------


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
        payable: Declaration | Statement
        if declaration is not None:
            payable, amount, currency = _declaration_to_pay(declaration, by=actor.user)
        elif statement is not None:
            payable, amount, currency = _statement_to_pay(statement)
        else:
            raise ServiceError(_("Say what to pay."), code="invalid")
        payment = _payment_open(payable, amount, currency, provider=provider.name, by=actor.user)
    return_url = reverse("payment_detail", args=[payment.pk])
    checkout = provider.start_payment(payment, return_url=return_url)
    if checkout.provider_reference and checkout.provider_reference != payment.provider_reference:
        payment.provider_reference = checkout.provider_reference
        with transaction.atomic():
            stamped(payment, actor.user).save(update_fields=["provider_reference"])
    return payment, checkout.url


def _declaration_to_pay(
    declaration: Declaration, *, by: User | None
) -> tuple[Declaration, Decimal, str]:
    """The declaration, locked, with what is outstanding on it and its currency; charged for
    its latest assessment on the way."""
    locked = lock(declaration.pk)
    if locked.status != Status.AWAITING_PAYMENT:
        raise ServiceError(_("This declaration is not waiting for payment."), code="not_payable")
    due, currency = amount_due(locked)
    if due <= 0:
        raise ServiceError(_("Nothing is due on this declaration."), code="not_payable")
    amount = amount_outstanding(locked)
    if amount <= 0:
        raise ServiceError(_("This is already paid."), code="already_paid")
    charge(locked, deferred=False, by=by)
    return locked, amount, currency


def _statement_to_pay(statement: Statement) -> tuple[Statement, Decimal, str]:
    """The statement, locked, with its total and currency."""
    locked = lock_statement(statement.pk)
    if locked.status == Statement.Status.PAID:
        raise ServiceError(_("This statement is already paid."), code="not_payable")
    if Payment.objects.filter(statement=locked, status=Payment.Status.SETTLED).exists():
        raise ServiceError(_("This is already paid."), code="already_paid")
    return locked, locked.total, locked.currency


def _payment_open(
    payable: Declaration | Statement,
    amount: Decimal,
    currency: str,
    *,
    provider: str,
    by: User | None,
) -> Payment:
    """The open payment of ``payable`` if it is for ``amount``, else a new one."""
    target = (
        {"declaration": payable} if isinstance(payable, Declaration) else {"statement": payable}
    )
    live = Payment.objects.filter(**target, status=Payment.Status.PENDING).first()
    if live is not None and live.amount == amount:
        return live
    if live is not None:
        # Opened before an amendment changed what is due: a payment of the old amount must not
        # settle the new one.
        live.status = Payment.Status.FAILED
        stamped(live, by).save(update_fields=["status"])
    payment = Payment(
        organisation_id=payable.organisation_id,
        amount=amount,
        currency=currency,
        provider=provider,
        reference=f"pay_{uuid.uuid4().hex}",
        created_by=by,
        **target,
    )
    stamped(payment, by).save()
    return payment


# --- The provider's callbacks ------------------------------------------------------------------


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
        payment = lock_payment(event.payment_reference)
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
        statement_mark_paid(payment.statement_id, paid_at=now)
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


# --- Release of what is paid -------------------------------------------------------------------


def _release_if_paid(declaration_id: int, *, note: str) -> bool:
    """Release a declaration awaiting payment once nothing is outstanding. Read under its lock:
    one amended meanwhile is no longer awaiting payment and stays where it is."""
    locked = lock(declaration_id)
    if locked.status != Status.AWAITING_PAYMENT or amount_outstanding(locked) > 0:
        return False
    release.declaration_release(
        declaration_id=locked.pk, leaving=Status.AWAITING_PAYMENT, actor=Actor(), note=note
    )
    return True


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
