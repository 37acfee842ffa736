"""The row locks of payments, statements, deferred accounts and refunds, and their order.

Every lock here is taken through ``clearance.workflow.lock_rows`` (the row itself, in primary-key
order); a declaration's through ``declarations.services.lock``.

The order: a refund request locks its declaration; a callback locks its payment, then the
declaration it releases or the statement it pays (and then that organisation's deferred account);
a payout locks its refund. No helper here locks a payment while its caller holds a declaration
or a statement. (One write does: ``payment_start`` marks failed the open payment of an old amount
while it holds the declaration, and would wait on a callback settling that very payment, which
waits on the declaration; PostgreSQL ends such a deadlock by failing one of the two, and both are
tried again, by the provider and by the payer.) The overdue sweep passes over statements and
accounts another transaction holds, and comes back to them on its next run.
"""

import datetime
from collections.abc import Collection

from django.db.models import QuerySet

from clearance.models import Organisation, User
from clearance.workflow import lock_row, lock_rows
from refunds.models import DeferredAccount, Payment, Refund, Statement


def lock_payment(reference: str) -> Payment | None:
    """The payment of this reference (ours, echoed in a callback), or ``None`` if none has it."""
    return lock_rows(Payment.objects.filter(reference=reference)).first()


def lock_statement(statement_id: int) -> Statement:
    return lock_row(Statement.objects.all(), pk=statement_id)


def lock_statements_past_due(today: datetime.date) -> QuerySet[Statement]:
    """Issued statements due before ``today`` that no other transaction holds (one being paid
    right now is left to the next sweep)."""
    return lock_rows(
        Statement.objects.filter(status=Statement.Status.ISSUED, due_on__lt=today),
        skip_locked=True,
    )


def lock_or_open_deferred_account(
    organisation: Organisation, *, approved_by: User | None
) -> tuple[DeferredAccount, bool]:
    """The organisation's deferred account, locked, opened now if it has none (and whether it
    was). Two openings at once: the second waits for the first's row, as ``get_or_create``
    reads it again under the lock after its insert loses to the unique organisation."""
    # The organisation goes in the lookup, not in a filter of the queryset: ``get_or_create``
    # creates from its own arguments only.
    return lock_rows(DeferredAccount.objects.all()).get_or_create(
        organisation=organisation, defaults={"approved_by": approved_by}
    )


def lock_deferred_accounts_in_good_standing(
    organisation_ids: Collection[int],
) -> QuerySet[DeferredAccount]:
    """The unsuspended deferred accounts of these organisations that no other transaction holds
    (one being reinstated by a statement payment right now is left alone)."""
    return lock_rows(
        DeferredAccount.objects.filter(
            organisation_id__in=list(organisation_ids), suspended_at__isnull=True
        ).select_related("organisation"),
        skip_locked=True,
    )


def lock_deferred_account_suspended_for(
    organisation_id: int, reason: str
) -> DeferredAccount | None:
    """The organisation's deferred account if it is suspended for ``reason``, else ``None``."""
    return lock_rows(
        DeferredAccount.objects.filter(organisation_id=organisation_id, suspended_reason=reason)
    ).first()


def lock_refund(refund_id: int) -> Refund:
    return lock_row(Refund.objects.select_related("organisation"), pk=refund_id)


def lock_refund_if_any(refund_id: int) -> Refund | None:
    """The refund, or ``None`` if there is none (a task may outlive its refund's id)."""
    return lock_rows(Refund.objects.select_related("organisation").filter(pk=refund_id)).first()
