"""Properties of the assessment that hold for any parcel."""

import dataclasses
import datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearance import regimes
from clearance.assessment import assess
from clearance.assessment_types import (
    AggregationRule,
    LineInput,
    Override,
    ParcelInput,
    RegimeRules,
    TariffLine,
)
from clearance.models import ExchangeRate, Regime
from clearance.presets import load_presets
from clearance.regime_rules import regime_save

TODAY = datetime.date(2026, 4, 13)

amounts = st.decimals(min_value=0, max_value=100000, places=2, allow_nan=False)
lines = st.lists(
    st.builds(
        LineInput,
        description=st.just("goods"),
        hs_code=st.sampled_from(["851830", "610910", "240311", "490199", "330499"]),
        quantity=st.integers(1, 20).map(Decimal),
        value=amounts,
        origin_country=st.sampled_from(["US", "CN", "MX", "JP"]),
    ),
    min_size=1,
    max_size=8,
).map(tuple)
parcels = st.builds(
    ParcelInput,
    date=st.just(TODAY),
    transport_mode=st.sampled_from(["postal", "express", "cargo"]),
    purpose=st.sampled_from(["personal", "commercial", "gift"]),
    currency=st.sampled_from(["USD", "KRW", "JPY", "KWD"]),
    shipping_cost=amounts,
    insurance_cost=amounts,
    tax_collected_at_sale=st.booleans(),
    vendor_tax_id=st.sampled_from(["", "123456789012"]),
    seller_country=st.sampled_from(["US", "CN"]),
    consignee_country=st.just("KR"),
    consignee_id=st.sampled_from(["", "P123456789012"]),
    lines=lines,
)
rules = st.builds(
    RegimeRules,
    economy=st.just("KR"),
    local_currency=st.sampled_from(["KRW", "USD", "KWD"]),
    threshold_currency=st.sampled_from(["USD", "KRW"]),
    duty_free_up_to=st.none() | amounts,
    tax_free_up_to=st.none() | amounts,
    value_basis=st.sampled_from(["goods", "cif"]),
    personal_use_percent=st.decimals(min_value="0.01", max_value=100, places=2),
    tax_rate=st.decimals(min_value=0, max_value=30, places=3),
    default_duty_rate=st.decimals(min_value=0, max_value=30, places=3),
    collection_model=st.sampled_from(["border", "vendor"]),
    excluded_hs_prefixes=st.sampled_from([(), ("24",)]),
    overrides=st.sampled_from(
        [(), (Override(origins=frozenset({"US"}), duty_free_up_to=Decimal(200)),)]
    ),
    aggregation=st.sampled_from([(), (AggregationRule("combine", "day"),)]),
    handling_fee=amounts,
    waive_below=st.none() | amounts,
)
tariffs = st.sampled_from(
    [(), (TariffLine("85", Decimal(8), Decimal("12.5")), TariffLine("6109", Decimal(13)))]
)
RATES = {
    "USD": Decimal("1489.952071"),
    "KRW": Decimal(1),
    "JPY": Decimal("9.3217"),
    "KWD": Decimal("4855.1"),
}


def rates_for(local):
    return {code: rate / RATES[local] for code, rate in RATES.items() if code != local}


@settings(max_examples=300, deadline=None)
@given(parcels, rules, tariffs)
def test_line_amounts_add_up_exactly_to_the_totals(parcel, regime, tariff):
    result = assess(parcel, regime, tariff=tariff, rates=rates_for(regime.local_currency))
    assert result.customs_value == sum(line.customs_value for line in result.lines)
    assert result.duty == sum(line.duty for line in result.lines)
    assert result.tax == sum(line.tax for line in result.lines)
    assert result.total_due == result.duty + result.tax + result.fees
    decimals = {"KRW": 0, "USD": 2, "KWD": 3}[regime.local_currency]
    for amount in (result.total_due, *(line.duty for line in result.lines)):
        assert -amount.as_tuple().exponent <= decimals
    data = result.to_dict()
    assert Decimal(data["total_due"]["amount"]) == result.total_due


@settings(max_examples=200, deadline=None)
@given(parcels, rules, tariffs)
def test_an_assessment_is_deterministic(parcel, regime, tariff):
    rates = rates_for(regime.local_currency)
    first = assess(parcel, regime, tariff=tariff, rates=rates)
    again = assess(parcel, regime, tariff=tuple(reversed(tariff)), rates=dict(rates))
    assert first == again
    assert first.to_dict() == again.to_dict()


@pytest.mark.django_db
def test_a_threshold_change_effective_tomorrow_does_not_change_todays_assessment():
    load_presets()
    for day in (TODAY, TODAY + datetime.timedelta(days=1)):
        ExchangeRate.objects.create(date=day, base="USD", currency="KRW", rate=Decimal(1400))
    before: dict[ParcelInput, dict] = {}

    @settings(
        max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(parcels)
    def record(parcel):
        before[parcel] = regimes.assess_parcel(parcel, regime_code="KR").to_dict()

    record()
    example = dataclasses.replace(
        next(iter(before)),
        transport_mode="express",
        consignee_id="P123456789012",
        seller_country="CN",
        lines=(LineInput("headphones", "851830", Decimal(1), Decimal(100), "CN"),),
        currency="USD",
    )
    assert regimes.assess_parcel(example, regime_code="KR").eligible

    # From tomorrow the limit is USD 1.
    current = Regime.objects.get(economy="KR")
    current.effective_to = TODAY
    regime_save(regime=current, by=None)
    current.pk = None
    current.effective_from = TODAY + datetime.timedelta(days=1)
    current.effective_to = None
    current.duty_free_up_to = Decimal(1)
    current.tax_free_up_to = Decimal(1)
    current.threshold_overrides = []
    regime_save(regime=current, by=None)

    for parcel, result in before.items():
        assert regimes.assess_parcel(parcel, regime_code="KR").to_dict() == result
    assert regimes.assess_parcel(example, regime_code="KR").eligible
    tomorrow = dataclasses.replace(example, date=TODAY + datetime.timedelta(days=1))
    assert not regimes.assess_parcel(tomorrow, regime_code="KR").eligible
