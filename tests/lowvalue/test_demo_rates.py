"""On a closed network the demo still works: the newest published rates are carried forward to
today as demo rates, said to be so wherever they are used. A real portal never invents one."""

import datetime
import io
from decimal import Decimal

import pytest
from django.utils import timezone

from clearance import regimes
from clearance.assessment_types import LineInput, ParcelInput
from clearance.exchange_rates import newest_rates, rates_import
from clearance.models import ExchangeRate

pytestmark = pytest.mark.django_db

LAST_PUBLISHED = datetime.date(2026, 4, 13)  # the newest row of the shipped ECB file


def parcel(day: datetime.date) -> ParcelInput:
    return ParcelInput(
        date=day,
        transport_mode="express",
        purpose="personal",
        currency="USD",
        shipping_cost=Decimal(0),
        insurance_cost=Decimal(0),
        tax_collected_at_sale=False,
        vendor_tax_id="",
        seller_country="CN",
        consignee_country="KR",
        consignee_id="P123456789012",
        lines=(LineInput("Cotton T-shirts", "610910", Decimal(1), Decimal(45), "CN"),),
    )


def test_with_debug_on_the_demo_carries_the_newest_rates_to_today(settings):
    settings.DEBUG = True
    regimes.load_demo()
    today = timezone.localdate()

    carried = ExchangeRate.objects.get(date=today, currency="USD")
    published = ExchangeRate.objects.get(date=LAST_PUBLISHED, currency="USD")
    assert carried.rate == published.rate
    assert carried.carried_from == LAST_PUBLISHED
    result = regimes.assess_parcel(parcel(today))
    assert not result.held
    [note] = [r for r in result.reasons if r.code == "demo_exchange_rate"]
    assert note.message.startswith(
        f"Demo rate for USD, carried forward from the ECB rate of {LAST_PUBLISHED}"
    )
    assert newest_rates(today)["demo"] is True
    assert newest_rates(today)["newest"] == LAST_PUBLISHED


def test_with_debug_off_nothing_is_carried_and_todays_parcel_is_held(settings):
    settings.DEBUG = False
    regimes.load_demo()
    today = timezone.localdate()

    assert not ExchangeRate.objects.filter(carried_from__isnull=False).exists()
    result = regimes.assess_parcel(parcel(today))
    assert result.held
    assert f"No exchange rate from USD to KRW is in force on {today}" in result.hold_reason
    assert newest_rates(today)["stale"] is True


def test_a_published_rate_replaces_the_demo_rate_of_its_day(settings):
    settings.DEBUG = True
    regimes.load_demo()
    today = timezone.localdate()

    rates_import(
        io.StringIO(f"date,currency,rate\n{today},USD,1.2000\n{today},KRW,1800\n"),
        source="ECB: published",
    )

    usd = ExchangeRate.objects.get(date=today, currency="USD")
    assert (usd.rate, usd.carried_from) == (Decimal("1.2000"), None)
    result = regimes.assess_parcel(parcel(today))
    assert not any(r.code == "demo_exchange_rate" for r in result.reasons)
    assert result.exchange_rates["USD"] == Decimal(1800) / Decimal("1.2000")


def test_the_estimator_page_and_api_say_a_demo_rate_is_one(client, settings):
    settings.DEBUG = True
    regimes.load_demo()
    answer = client.post(
        "/api/v1/estimate/",
        {
            "currency": "USD",
            "transport_mode": "express",
            "purpose": "personal",
            "seller": {"country": "CN"},
            "consignee": {"country": "KR", "id_number": "P123456789012"},
            "lines": [
                {
                    "description": "Cotton T-shirt",
                    "hs_code": "610910",
                    "quantity": "1",
                    "value": "45",
                    "origin_country": "CN",
                }
            ],
        },
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["total_due"]["amount"] is not None
    assert any(r["code"] == "demo_exchange_rate" for r in body["reasons"])
