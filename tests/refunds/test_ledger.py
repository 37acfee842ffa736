from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from clearance.errors import ServiceError
from refunds.models import LedgerEntry
from tests.refunds.helpers import due_declaration

pytestmark = pytest.mark.django_db


def test_the_balance_is_the_sum_of_the_entries(organisation):
    declaration = due_declaration(organisation)
    common = {"organisation": organisation, "currency": "KRW", "declaration": declaration}
    LedgerEntry(kind="charge", amount=Decimal("30000"), **common).save()
    LedgerEntry(kind="payment", amount=Decimal("-30000"), **common).save()
    LedgerEntry(kind="refund", amount=Decimal("1000"), **common).save()
    LedgerEntry(kind="adjustment", amount=Decimal("-1000"), **common).save()
    LedgerEntry(
        organisation=organisation, kind="charge", amount=Decimal("12.5"), currency="USD"
    ).save()

    balance = LedgerEntry.objects.filter(organisation=organisation).balance()

    assert balance == {"KRW": Decimal(0), "USD": Decimal("12.5")}


def test_a_ledger_entry_is_never_changed_or_deleted(organisation):
    entry = LedgerEntry(organisation=organisation, kind="charge", amount=Decimal(5), currency="KRW")
    entry.save()

    entry.amount = Decimal(1)
    with pytest.raises(ServiceError):
        entry.save()
    with pytest.raises(ServiceError):
        entry.delete()
    # Even a query that goes around the model is refused by the database.
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=Decimal(1))
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM refunds_ledgerentry WHERE id = %s", [entry.pk])

    assert LedgerEntry.objects.get(pk=entry.pk).amount == Decimal(5)


def test_a_ledger_amount_has_the_sign_of_its_kind(organisation):
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry(
            organisation=organisation, kind="payment", amount=Decimal(5), currency="KRW"
        ).save()
