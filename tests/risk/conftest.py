import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from clearance import regimes
from clearance.models import ExchangeRate
from declarations.services import Actor
from tests.factories import OrganisationFactory


def rates_for_today() -> None:
    """The demo regime with exchange rates for today, so parcels are assessed in real time
    (a worker process runs on the real clock)."""
    regimes.load_demo()
    today = timezone.localdate()
    for day in (today, today - datetime.timedelta(days=1)):
        for currency, rate in (("USD", "1.08"), ("KRW", "1450"), ("EUR", "1")):
            ExchangeRate.objects.update_or_create(
                date=day, base="EUR", currency=currency, defaults={"rate": Decimal(rate)}
            )


@pytest.fixture
def regime(db):
    rates_for_today()


@pytest.fixture
def organisation(db):
    return OrganisationFactory(name="Lee Goods")


@pytest.fixture
def actor(organisation):
    return Actor(user=organisation.owner)
