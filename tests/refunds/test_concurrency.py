"""Races on PostgreSQL: 20 threads at once, each with its own connection."""

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from threading import Barrier

import pytest
from django.db import connection
from django.test import Client

from clearance.actors import Actor
from clearance.errors import ServiceError
from declarations.models import Status, StatusChange
from refunds import amounts, payments, services
from refunds.models import LedgerEntry, ProviderEvent, Refund, SandboxPayout
from tests.factories import staff_user
from tests.refunds.helpers import callback, due_declaration, post_callback

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 20


def race(work, count=THREADS):
    """Run ``work(i)`` in ``count`` threads released together; return results or errors."""
    barrier = Barrier(count)

    def run(i):
        try:
            barrier.wait()
            return work(i)
        except Exception as error:  # the losers' refusals are part of the outcome
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def paid_declaration(organisation, actor, total="30000"):
    declaration = due_declaration(organisation, total=total)
    payment, _url = payments.payment_start(declaration=declaration, actor=actor)
    post_callback(Client(), *callback(payment.reference, total, "KRW"))
    declaration.refresh_from_db()
    assert declaration.status == Status.RELEASED
    return declaration


def test_twenty_concurrent_deliveries_of_one_callback_settle_once(organisation, actor):
    declaration = due_declaration(organisation)
    payment, _url = payments.payment_start(declaration=declaration, actor=actor)
    body, headers = callback(payment.reference, "30000", "KRW", event_id="evt_race")

    outcomes = race(lambda i: post_callback(Client(), body, headers).content)

    assert sorted(outcomes) == [b"duplicate"] * (THREADS - 1) + [b"settled"]
    assert LedgerEntry.objects.filter(payment=payment, kind="payment").count() == 1
    assert ProviderEvent.objects.count() == 1
    assert StatusChange.objects.filter(declaration=declaration, to_status="released").count() == 1


def test_twenty_concurrent_distinct_success_events_settle_once(organisation, actor):
    declaration = due_declaration(organisation)
    payment, _url = payments.payment_start(declaration=declaration, actor=actor)
    deliveries = [callback(payment.reference, "30000", "KRW") for _ in range(THREADS)]

    outcomes = race(lambda i: post_callback(Client(), *deliveries[i]).content)

    assert sorted(outcomes) == [b"ignored"] * (THREADS - 1) + [b"settled"]
    assert LedgerEntry.objects.filter(payment=payment, kind="payment").count() == 1


def test_twenty_concurrent_approvals_of_one_refund_give_one_payout(organisation, actor):
    declaration = paid_declaration(organisation, actor)
    refund = services.refund_request(
        declaration=declaration,
        reason=Refund.Reason.OVERPAYMENT,
        amount=Decimal("10000"),
        actor=actor,
    )
    officers = [staff_user("officer") for _ in range(THREADS)]

    def approve_and_pay(i):
        services.refund_approve(refund_id=refund.pk, by=officers[i])
        return services.refund_pay_out(refund_id=refund.pk)

    outcomes = race(approve_and_pay)
    # And every approver's payout task running at once as well.
    payouts = race(lambda i: services.refund_pay_out(refund_id=refund.pk))

    # The approval also queues the payout task, and a session worker may run it first: then no
    # thread pays. Either way exactly one payout happens, and nobody else pays again.
    assert sum(1 for o in outcomes + payouts if o is True) <= 1
    assert all(o is True or o is False or isinstance(o, ServiceError) for o in outcomes)
    assert all(o is False for o in payouts)
    assert SandboxPayout.objects.filter(refund_id=refund.pk).count() == 1
    assert LedgerEntry.objects.filter(refund=refund, kind="refund").count() == 1
    assert Refund.objects.get(pk=refund.pk).status == "paid"


def test_concurrent_refund_requests_never_exceed_what_was_paid(organisation, actor):
    declaration = paid_declaration(organisation, actor, total="30000")

    def ask(i):
        return services.refund_request(
            declaration=declaration,
            reason=Refund.Reason.DUPLICATE,
            amount=Decimal("7000"),
            actor=Actor(user=actor.user),
        )

    outcomes = race(ask)

    granted = [o for o in outcomes if isinstance(o, Refund)]
    assert len(granted) == 4  # 4 x 7,000 <= 30,000 < 5 x 7,000
    assert all(getattr(o, "code", None) == "over_refundable" for o in outcomes if o not in granted)
    total = sum(Refund.objects.filter(declaration=declaration).values_list("amount", flat=True))
    assert total == Decimal("28000") <= amounts.amount_paid(declaration)
