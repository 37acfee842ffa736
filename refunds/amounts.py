"""What a declaration owes, has paid and may have refunded, and the charge that puts what it
owes on the ledger.

Money is rounded once, when an amount enters the portal: a declaration's due amount is already
rounded by the assessment to the currency's minor unit, and a refund's requested amount must
have no more decimals than its currency has.
"""

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum

from clearance.models import User
from declarations.models import Declaration
from refunds.models import (
    REFUND_HOLDING,
    ZERO,
    LedgerEntry,
    Payment,
    Refund,
    Statement,
    StatementLine,
)


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


def charge(declaration: Declaration, *, deferred: bool, by: User | None) -> LedgerEntry | None:
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
