"""Deferred accounts: release before payment, a monthly statement, suspension when overdue."""

import datetime
from decimal import Decimal

import pytest
import time_machine

from clearance.actors import Actor
from clearance.errors import ServiceError
from clearance.models import Notification
from declarations.models import Status
from refunds import payments, statements, tasks
from refunds.models import LedgerEntry
from tests.factories import OrganisationFactory
from tests.refunds.helpers import callback, due_declaration, post_callback

pytestmark = pytest.mark.django_db

AMOUNTS = ["12345", "67", "30000", "991", "4500", "18000", "250", "7777"]


@pytest.fixture
def platform(db):
    organisation = OrganisationFactory(name="Big Platform", kind="platform")
    statements.deferred_account_open(organisation=organisation, by=None)
    return organisation


def release_month(platform, amounts, month="2026-03"):
    """Release one declaration a day in ``month`` on the deferred account."""
    declarations = []
    for day, amount in enumerate(amounts, start=1):
        with time_machine.travel(f"{month}-{day:02d} 10:00 +0900", tick=False):
            declaration = due_declaration(platform, total=amount)
            declarations.append(statements.deferred_release(declaration=declaration, actor=Actor()))
    return declarations


def test_a_deferred_account_releases_before_payment(platform):
    assert statements.deferral_applies(platform)
    [declaration] = release_month(platform, ["5000"])

    assert declaration.status == Status.RELEASED
    assert not declaration.payments.exists()
    assert LedgerEntry.objects.filter(organisation=platform).balance() == {"KRW": Decimal(5000)}


def test_a_month_of_deferred_declarations_gives_a_statement_whose_total_is_the_sum_of_its_lines(
    platform,
):
    declarations = release_month(platform, AMOUNTS)
    release_month(platform, ["999"], month="2026-04")  # next month: not on this statement

    [statement] = statements.statements_issue(period=datetime.date(2026, 3, 1))

    lines = list(statement.lines.all())
    assert {line.declaration_id for line in lines} == {d.pk for d in declarations}
    assert statement.total == sum(line.amount for line in lines) == sum(map(Decimal, AMOUNTS))
    assert statements.statements_issue(period=datetime.date(2026, 3, 1)) == []


def test_the_statement_is_paid_like_any_payment(client, platform):
    release_month(platform, AMOUNTS)
    [statement] = statements.statements_issue(period=datetime.date(2026, 3, 1))

    payment, _url = payments.payment_start(statement=statement, actor=Actor())
    post_callback(client, *callback(payment.reference, statement.total, "KRW"))

    statement.refresh_from_db()
    assert statement.status == "paid"
    assert LedgerEntry.objects.filter(organisation=platform).balance() == {"KRW": Decimal(0)}
    with pytest.raises(ServiceError):
        payments.payment_start(statement=statement, actor=Actor())


def test_an_overdue_statement_suspends_deferral_until_it_is_paid(client, platform, settings):
    settings.DEFERRAL_SUSPEND_AFTER_DAYS = 10
    release_month(platform, ["1000", "2000"])
    [statement] = statements.statements_issue(period=datetime.date(2026, 3, 1))

    statements.statements_mark_overdue(today=statement.due_on + datetime.timedelta(days=1))
    statement.refresh_from_db()
    assert statement.status == "overdue"
    assert statements.deferral_applies(platform)

    statements.statements_mark_overdue(today=statement.due_on + datetime.timedelta(days=11))
    assert not statements.deferral_applies(platform)
    told = Notification.objects.get(recipient=platform.owner, event="deferral_suspended")
    assert "is suspended" in told.body
    with pytest.raises(ServiceError):
        statements.deferred_release(
            declaration=due_declaration(platform, status=Status.SUBMITTED), actor=Actor()
        )

    payment, _url = payments.payment_start(statement=statement, actor=Actor())
    post_callback(client, *callback(payment.reference, statement.total, "KRW"))
    assert statements.deferral_applies(platform)


def test_the_statement_pdf_and_receipt_are_rendered_by_the_worker_tasks(client, platform):
    release_month(platform, ["1000", "2000"])
    [statement] = statements.statements_issue(period=datetime.date(2026, 3, 1))
    payment, _url = payments.payment_start(statement=statement, actor=Actor())
    post_callback(client, *callback(payment.reference, statement.total, "KRW"))

    tasks.render_statement(statement.pk)
    tasks.render_payment_receipt(payment.pk)

    statement.refresh_from_db()
    payment.refresh_from_db()
    assert statement.document.read().startswith(b"%PDF-")
    assert payment.receipt.read().startswith(b"%PDF-")


def test_an_organisation_without_an_account_gets_no_deferral(organisation):
    assert not statements.deferral_applies(organisation)


def test_the_monthly_task_issues_the_statements_of_the_month_that_ended(platform):
    release_month(platform, ["1000", "2000"])

    with time_machine.travel("2026-04-01 02:00 +0900", tick=False):
        issued = tasks.issue_monthly_statements()

    assert issued == 1
    assert platform.statements.get().period == datetime.date(2026, 3, 1)


def test_declarations_sent_to_payment_are_released_at_once_on_a_deferred_account(platform):
    deferred = due_declaration(platform, total="5000")
    ordinary = due_declaration(OrganisationFactory(), total="5000")

    assert tasks.release_settled([deferred.pk, ordinary.pk]) == 1
    deferred.refresh_from_db()
    ordinary.refresh_from_db()
    assert deferred.status == Status.RELEASED
    assert ordinary.status == Status.AWAITING_PAYMENT
    assert LedgerEntry.objects.filter(organisation=platform).balance() == {"KRW": Decimal(5000)}
    # Delivered twice (a redelivered message), it releases and charges nothing more.
    assert tasks.release_settled([deferred.pk]) == 0
    assert LedgerEntry.objects.filter(organisation=platform).balance() == {"KRW": Decimal(5000)}
