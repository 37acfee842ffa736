"""Deferred accounts and their monthly statements.

A declaration whose organisation has a deferred account in good standing is released before
payment (``deferred_release``) and charged on the month's statement (``statements_issue``). An
unpaid statement becomes overdue, and past the grace days suspends the account
(``statements_mark_overdue``) until the statement is paid (``statement_mark_paid``, when its
payment settles).
"""

import calendar
import datetime

from django.conf import settings
from django.db import transaction
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
from refunds.amounts import charge
from refunds.locks import (
    lock_deferred_account_suspended_for,
    lock_deferred_accounts_in_good_standing,
    lock_or_open_deferred_account,
    lock_statement,
    lock_statements_past_due,
)
from refunds.models import ZERO, DeferredAccount, LedgerEntry, Statement, StatementLine

SUSPENDED_OVERDUE = "overdue_statement"


# --- Deferred accounts -------------------------------------------------------------------------


def deferral_applies(organisation: Organisation) -> bool:
    """True when the organisation has an approved deferred account that is not suspended:
    its declarations are then released before payment and charged on the monthly statement."""
    return DeferredAccount.objects.filter(
        organisation=organisation, suspended_at__isnull=True
    ).exists()


def deferred_account_open(*, organisation: Organisation, by: User | None) -> DeferredAccount:
    with transaction.atomic():
        account, created = lock_or_open_deferred_account(organisation, approved_by=by)
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
            charge(locked, deferred=True, by=actor.user)
        release.declaration_release(
            declaration_id=locked.pk,
            leaving=Status.AWAITING_PAYMENT,
            actor=actor,
            note=_("Released on the deferred account."),
        )
    return Declaration.objects.get(pk=locked.pk)


# --- Statements --------------------------------------------------------------------------------


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def statements_issue(*, period: datetime.date) -> list[Statement]:
    """The statements of one month: every deferred charge of that month not yet on a statement,
    per organisation and currency. Running it twice issues nothing new."""
    start = month_start(period)
    due_on = timezone.localdate() + datetime.timedelta(days=settings.STATEMENT_PAYMENT_DAYS)
    issued = []
    for (organisation_id, currency), entries in _unbilled_charges(start).items():
        with transaction.atomic():
            if Statement.objects.filter(
                organisation_id=organisation_id, period=start, currency=currency
            ).exists():
                continue
            issued.append(_statement_issue(organisation_id, currency, start, due_on, entries))
    return issued


def _unbilled_charges(start: datetime.date) -> dict[tuple[int, str], list[LedgerEntry]]:
    """The deferred charges of the month from ``start`` on no statement yet, per organisation
    and currency, oldest first."""
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
    for entry in charges:
        groups.setdefault((entry.organisation_id, entry.currency), []).append(entry)
    return groups


def _statement_issue(
    organisation_id: int,
    currency: str,
    start: datetime.date,
    due_on: datetime.date,
    entries: list[LedgerEntry],
) -> Statement:
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
            statement=statement, charge=e, declaration_id=e.declaration_id or 0, amount=e.amount
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
    return statement


def statements_mark_overdue(*, today: datetime.date) -> int:
    """Unpaid statements past their due date become overdue; past the grace days, the
    organisation's deferral is suspended until it pays. Returns how many accounts it suspended.

    A sweep: statements and accounts another transaction holds (being paid, being reinstated)
    are passed over, and looked at again by the next sweep if they still need it."""
    suspended = 0
    grace = datetime.timedelta(days=settings.DEFERRAL_SUSPEND_AFTER_DAYS)
    with transaction.atomic():
        for statement in lock_statements_past_due(today):
            statement.status = Statement.Status.OVERDUE
            stamped(statement, None).save(update_fields=["status"])
        late = {
            statement.organisation_id: statement
            for statement in Statement.objects.filter(
                status=Statement.Status.OVERDUE, due_on__lt=today - grace
            ).order_by("-due_on")
        }
        for account in lock_deferred_accounts_in_good_standing(late):
            _deferral_suspend(account, late[account.organisation_id])
            suspended += 1
    return suspended


def _deferral_suspend(account: DeferredAccount, statement: Statement) -> None:
    account.suspended_at = timezone.now()
    account.suspended_reason = SUSPENDED_OVERDUE
    stamped(account, None).save()
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


def statement_mark_paid(statement_id: int, *, paid_at: datetime.datetime) -> None:
    """Mark a statement paid (its payment settled, in the caller's transaction), and reinstate
    the deferral its organisation lost for being overdue once no statement is overdue."""
    statement = lock_statement(statement_id)
    statement.status = Statement.Status.PAID
    statement.paid_at = paid_at
    stamped(statement, None).save(update_fields=["status", "paid_at"])
    if Statement.objects.filter(
        organisation_id=statement.organisation_id, status=Statement.Status.OVERDUE
    ).exists():
        return
    account = lock_deferred_account_suspended_for(statement.organisation_id, SUSPENDED_OVERDUE)
    if account is not None:
        account.suspended_at = None
        account.suspended_reason = ""
        stamped(account, None).save()
