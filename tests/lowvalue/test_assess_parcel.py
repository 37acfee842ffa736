"""The interface the filing code calls on submit: regime, tariff and rates loaded by date."""

import datetime
from decimal import Decimal

import pytest

from clearance.assessment_types import EarlierParcel, LineInput, ParcelInput
from clearance.models import ExchangeRate, TariffRate
from clearance.presets import load_presets
from clearance.regimes import assess_parcel

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 4, 13)


def parcel(value="150", currency="USD", seller="CN", consignee_id="P123456789012", **extra):
    fields = {
        "date": DAY,
        "transport_mode": "express",
        "purpose": "personal",
        "currency": currency,
        "shipping_cost": Decimal("10"),
        "insurance_cost": Decimal("0"),
        "tax_collected_at_sale": False,
        "vendor_tax_id": "",
        "seller_country": seller,
        "consignee_country": "KR",
        "consignee_id": consignee_id,
        "lines": (LineInput("Wireless headphones", "851830", Decimal(1), Decimal(value), seller),),
    }
    fields.update(extra)
    return ParcelInput(**fields)


@pytest.fixture
def korea():
    load_presets()
    # ECB: 1 EUR = 1.1684 USD = 1740.86 KRW, so 1 USD = 1489.9521 KRW (to 4 places).
    ExchangeRate.objects.create(date=DAY, base="EUR", currency="USD", rate=Decimal("1.1684"))
    ExchangeRate.objects.create(date=DAY, base="EUR", currency="KRW", rate=Decimal("1740.86"))


def test_a_parcel_at_the_korean_limit_is_eligible_and_owes_nothing(korea):
    result = assess_parcel(parcel("150"))
    assert result.eligible and not result.held
    assert result.currency == "KRW"
    assert result.total_due == 0
    data = result.to_dict()
    assert data["regime"] == "KR"
    # 150 USD x 1489.952071... KRW = 223,492.81 -> 223,493 KRW (no decimals).
    assert data["customs_value"] == {"amount": "223493", "currency": "KRW"}
    assert data["total_due"] == {"amount": "0", "currency": "KRW"}
    assert [r["code"] for r in data["reasons"]] == [
        "within_duty_free_limit",
        "within_tax_free_limit",
    ]


def test_a_parcel_over_the_limit_owes_duty_at_the_tariff_rate_and_tax(korea):
    TariffRate.objects.create(
        economy="KR", hs_prefix="8518", rate=Decimal("8"), effective_from=datetime.date(2020, 1, 1)
    )
    result = assess_parcel(parcel("212.40"))
    assert not result.eligible
    assert result.reasons[0].code == "over_limit"
    assert result.reasons[0].message == "Value 212.40 USD exceeds the 150 USD duty-free limit."
    # Customs value 212.40 x 1489.952071 = 316,465.82; duty 8% = 25,317.27 -> 25,317;
    # tax 10% of (316,465.82 + 25,317.27) = 34,178.31 -> 34,178.
    assert result.customs_value == Decimal("316466")
    assert result.duty == Decimal("25317")
    assert result.tax == Decimal("34178")
    assert result.total_due == Decimal("59495")


def test_a_missing_exchange_rate_holds_the_parcel_with_a_reason(korea):
    result = assess_parcel(parcel("100", currency="GBP"))
    assert result.held and not result.eligible
    assert "No exchange rate from GBP to KRW" in result.hold_reason
    assert result.to_dict()["total_due"]["amount"] is None


def test_an_economy_without_a_regime_holds_the_parcel(korea):
    result = assess_parcel(parcel("100"), regime_code="ZZ")
    assert result.held and result.reasons[0].code == "regime_missing"


def test_same_day_parcels_of_one_consignee_are_combined(korea):
    earlier = [EarlierParcel(DAY, Decimal("149000")), EarlierParcel(DAY, Decimal("0"))]
    result = assess_parcel(parcel("60"), earlier=earlier)
    assert not result.eligible
    assert any(r.code == "aggregated" for r in result.reasons)
