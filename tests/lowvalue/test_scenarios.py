"""The low-value mode across the presets: one row per scenario, amounts worked out by hand.

Rates for the scenarios: 1 USD = 1,400 KRW (published on 2026-04-13). Other parcels are in
the regime's own currency. Duty uses the tariff rows below or the preset's default rate;
tax is charged on customs value plus duty; each line's amount is rounded once to the
currency's minor unit (KRW and JPY have none, the others two decimals).
"""

import datetime
from decimal import Decimal

import pytest

from clearance.assessment_types import EarlierParcel, LineInput, ParcelInput
from clearance.models import ExchangeRate, TariffRate
from clearance.presets import load_presets
from clearance.regimes import assess_parcel

pytestmark = pytest.mark.django_db

D = datetime.date
APRIL = D(2026, 4, 13)
PCCC = "P123456789012"
ARN = "123456789012"


def parcel(
    *lines,
    day=APRIL,
    currency="USD",
    seller="CN",
    mode="express",
    purpose="personal",
    collected=False,
    vendor="",
    consignee=PCCC,
):
    return ParcelInput(
        date=day,
        transport_mode=mode,
        purpose=purpose,
        currency=currency,
        shipping_cost=Decimal("5"),
        insurance_cost=Decimal("0"),
        tax_collected_at_sale=collected,
        vendor_tax_id=vendor,
        seller_country=seller,
        consignee_country="",
        consignee_id=consignee,
        lines=tuple(
            LineInput("goods", hs, Decimal(1), Decimal(value), origin)
            for hs, value, origin in lines
        ),
    )


def headphones(value, origin="CN"):
    return ("851830", value, origin)


def tshirts(value, origin="CN"):
    return ("610910", value, origin)


def earlier(*pairs):
    return [EarlierParcel(day, Decimal(value)) for day, value in pairs]


# (id, economy, parcel, earlier parcels, eligible, a reason code expected, duty, tax, total)
SCENARIOS = [
    # Republic of Korea: USD 150 (USD 200 shipped from the US), 8% default duty, VAT 10%.
    (
        "kr-at-limit",
        "KR",
        parcel(headphones("150")),
        [],
        True,
        "within_duty_free_limit",
        "0",
        "0",
        "0",
    ),
    (
        "kr-just-below",
        "KR",
        parcel(headphones("149.99")),
        [],
        True,
        "within_tax_free_limit",
        "0",
        "0",
        "0",
    ),
    # 150.01 x 1400 = 210,014; duty 8% = 16,801.12 -> 16,801;
    # tax 10% of 226,815.12 = 22,681.512 -> 22,682; total 39,483.
    (
        "kr-just-above",
        "KR",
        parcel(headphones("150.01")),
        [],
        False,
        "over_limit",
        "16801",
        "22682",
        "39483",
    ),
    (
        "kr-us-200",
        "KR",
        parcel(headphones("200", "US"), seller="US"),
        [],
        True,
        "origin_override",
        "0",
        "0",
        "0",
    ),
    # 200.01 x 1400 = 280,014; duty 22,401.12 -> 22,401; tax 30,241.512 -> 30,242.
    (
        "kr-us-above-200",
        "KR",
        parcel(headphones("200.01", "US"), seller="US"),
        [],
        False,
        "over_limit",
        "22401",
        "30242",
        "52643",
    ),
    # Not shipped from the US: the USD 150 limit. 280,000: duty 22,400, tax 30,240.
    (
        "kr-200-from-china",
        "KR",
        parcel(headphones("200")),
        [],
        False,
        "over_limit",
        "22400",
        "30240",
        "52640",
    ),
    # Tobacco USD 30: 42,000; duty 3,360; tax 4,536.
    (
        "kr-tobacco",
        "KR",
        parcel(("240311", "30", "CN")),
        [],
        False,
        "excluded_goods",
        "3360",
        "4536",
        "7896",
    ),
    # Whisky USD 50: 70,000; duty 5,600; tax 7,560.
    (
        "kr-whisky",
        "KR",
        parcel(("220830", "50", "GB")),
        [],
        False,
        "excluded_goods",
        "5600",
        "7560",
        "13160",
    ),
    # USD 100 = 140,000; duty 11,200; tax 15,120.
    (
        "kr-no-consignee-id",
        "KR",
        parcel(headphones("100"), consignee=""),
        [],
        False,
        "consignee_id_missing",
        "11200",
        "15120",
        "26320",
    ),
    (
        "kr-bad-consignee-id",
        "KR",
        parcel(headphones("100"), consignee="P12345"),
        [],
        False,
        "consignee_id_invalid",
        "11200",
        "15120",
        "26320",
    ),
    (
        "kr-cargo",
        "KR",
        parcel(headphones("100"), mode="cargo"),
        [],
        False,
        "transport_mode",
        "11200",
        "15120",
        "26320",
    ),
    # Third parcel today: 100 + 100 (140,000 KRW) + 70 (98,000 KRW) = USD 270 > 150.
    (
        "kr-third-parcel-today",
        "KR",
        parcel(headphones("100")),
        earlier((APRIL, "140000"), (APRIL, "98000")),
        False,
        "aggregated",
        "11200",
        "15120",
        "26320",
    ),
    # Yesterday's parcel is not combined with today's.
    (
        "kr-parcel-yesterday",
        "KR",
        parcel(headphones("100")),
        earlier((D(2026, 4, 12), "140000")),
        True,
        "within_duty_free_limit",
        "0",
        "0",
        "0",
    ),
    # Japan: JPY 10,000 on the taxable value, 60% of the price for personal use; 5%, 10%.
    # 16,000 x 60% = 9,600.
    (
        "jp-personal-16000",
        "JP",
        parcel(tshirts("16000"), currency="JPY"),
        [],
        True,
        "personal_use_factor",
        "0",
        "0",
        "0",
    ),
    # 16,666 x 60% = 9,999.6: just below.
    (
        "jp-personal-just-below",
        "JP",
        parcel(tshirts("16666"), currency="JPY"),
        [],
        True,
        "within_duty_free_limit",
        "0",
        "0",
        "0",
    ),
    # 16,667 x 60% = 10,000.2: duty 500.01 -> 500; tax 10% of 10,500.21 = 1,050.021 -> 1,050.
    (
        "jp-personal-just-above",
        "JP",
        parcel(tshirts("16667"), currency="JPY"),
        [],
        False,
        "over_limit",
        "500",
        "1050",
        "1550",
    ),
    (
        "jp-commercial-at-limit",
        "JP",
        parcel(tshirts("10000"), currency="JPY", purpose="commercial"),
        [],
        True,
        "within_duty_free_limit",
        "0",
        "0",
        "0",
    ),
    # 10,001: duty 500.05 -> 500; tax 1,050.105 -> 1,050.
    (
        "jp-commercial-above",
        "JP",
        parcel(tshirts("10001"), currency="JPY", purpose="commercial"),
        [],
        False,
        "over_limit",
        "500",
        "1050",
        "1550",
    ),
    # Canada: CAD 20; CUSMA-origin courier goods CAD 40 tax free and CAD 150 duty free.
    # T-shirts 18% (tariff row below), GST 5%.
    (
        "ca-cusma-40",
        "CA",
        parcel(tshirts("40", "US"), currency="CAD", seller="US"),
        [],
        True,
        "within_tax_free_limit",
        "0",
        "0",
        "0",
    ),
    # 40.01: duty free; GST 5% = 2.0005 -> 2.00.
    (
        "ca-cusma-just-above-40",
        "CA",
        parcel(tshirts("40.01", "US"), currency="CAD", seller="US"),
        [],
        True,
        "over_tax_free_limit",
        "0",
        "2.00",
        "2.00",
    ),
    # 150: GST 7.50.
    (
        "ca-cusma-150",
        "CA",
        parcel(tshirts("150", "MX"), currency="CAD", seller="MX"),
        [],
        True,
        "within_duty_free_limit",
        "0",
        "7.50",
        "7.50",
    ),
    # 150.01: duty 27.0018 -> 27.00; GST 5% of 177.0118 = 8.85059 -> 8.85.
    (
        "ca-cusma-just-above-150",
        "CA",
        parcel(tshirts("150.01", "MX"), currency="CAD", seller="MX"),
        [],
        False,
        "over_limit",
        "27.00",
        "8.85",
        "35.85",
    ),
    # By post the CUSMA limits do not apply: CAD 20.
    (
        "ca-postal-20",
        "CA",
        parcel(tshirts("20", "US"), currency="CAD", mode="postal"),
        [],
        True,
        "within_duty_free_limit",
        "0",
        "0",
        "0",
    ),
    # 20.01 of Chinese goods: duty 3.6018 -> 3.60; GST 5% of 23.6118 -> 1.18.
    (
        "ca-other-origin-just-above-20",
        "CA",
        parcel(tshirts("20.01"), currency="CAD"),
        [],
        False,
        "over_limit",
        "3.60",
        "1.18",
        "4.78",
    ),
    # Mixed origins are not all CUSMA: CAD 20 applies. Lines 60 and 40: duty 10.80 + 7.20;
    # GST 5% of 70.80 = 3.54 and of 47.20 = 2.36.
    (
        "ca-mixed-origins",
        "CA",
        parcel(tshirts("60", "US"), tshirts("40"), currency="CAD"),
        [],
        False,
        "over_limit",
        "18.00",
        "5.90",
        "23.90",
    ),
    # Australia: GST collected at sale by registered vendors up to AUD 1,000; duty 5%.
    (
        "au-vendor-collected",
        "AU",
        parcel(tshirts("500"), currency="AUD", collected=True, vendor=ARN),
        [],
        True,
        "tax_collected_at_sale",
        "0",
        "0",
        "0",
    ),
    # Not collected at sale: GST 10% of 500 at the border.
    (
        "au-not-collected",
        "AU",
        parcel(tshirts("500"), currency="AUD"),
        [],
        True,
        "over_tax_free_limit",
        "0",
        "50.00",
        "50.00",
    ),
    (
        "au-bad-vendor-number",
        "AU",
        parcel(tshirts("500"), currency="AUD", collected=True, vendor="ABC"),
        [],
        True,
        "vendor_tax_id_invalid",
        "0",
        "50.00",
        "50.00",
    ),
    (
        "au-at-1000",
        "AU",
        parcel(tshirts("1000"), currency="AUD", collected=True, vendor=ARN),
        [],
        True,
        "tax_collected_at_sale",
        "0",
        "0",
        "0",
    ),
    # 1,000.01: duty 50.0005 -> 50.00; GST 10% of 1,050.0105 -> 105.00.
    (
        "au-just-above-1000",
        "AU",
        parcel(tshirts("1000.01"), currency="AUD", collected=True, vendor=ARN),
        [],
        False,
        "over_vendor_collection_limit",
        "50.00",
        "105.00",
        "155.00",
    ),
    # United States: USD 800 until 2025-08-28, then none (gifts up to USD 100). T-shirts 16.5%.
    (
        "us-800-before-suspension",
        "US",
        parcel(tshirts("800"), day=D(2025, 8, 28)),
        [],
        True,
        "within_duty_free_limit",
        "0",
        "0",
        "0",
    ),
    # 800.01: duty 132.00165 -> 132.00.
    (
        "us-just-above-800-before",
        "US",
        parcel(tshirts("800.01"), day=D(2025, 8, 28)),
        [],
        False,
        "over_limit",
        "132.00",
        "0",
        "132.00",
    ),
    (
        "us-suspended",
        "US",
        parcel(tshirts("800"), day=D(2025, 8, 29)),
        [],
        False,
        "no_de_minimis",
        "132.00",
        "0",
        "132.00",
    ),
    # USD 10: duty 1.65.
    (
        "us-suspended-small",
        "US",
        parcel(tshirts("10"), day=D(2025, 8, 29)),
        [],
        False,
        "no_de_minimis",
        "1.65",
        "0",
        "1.65",
    ),
    (
        "us-gift",
        "US",
        parcel(tshirts("100"), day=D(2025, 8, 29), purpose="gift"),
        [],
        True,
        "origin_override",
        "0",
        "0",
        "0",
    ),
    # China: RMB 5,000 per transaction, RMB 26,000 per year; no duty, VAT 9.1%.
    (
        "cn-at-cap",
        "CN",
        parcel(tshirts("5000"), currency="CNY"),
        [],
        True,
        "duty_free",
        "0",
        "455.00",
        "455.00",
    ),
    # 5,000.01: VAT 455.00091 -> 455.00 (ineligible: general trade rules apply).
    (
        "cn-over-transaction-cap",
        "CN",
        parcel(tshirts("5000.01"), currency="CNY"),
        [],
        False,
        "over_transaction_cap",
        "0",
        "455.00",
        "455.00",
    ),
    # 24,000 earlier this year + 2,000 = 26,000: at the annual cap. VAT 182.00.
    (
        "cn-annual-at-cap",
        "CN",
        parcel(tshirts("2000"), currency="CNY"),
        earlier((D(2026, 1, 5), "24000")),
        True,
        "duty_free",
        "0",
        "182.00",
        "182.00",
    ),
    (
        "cn-annual-over-cap",
        "CN",
        parcel(tshirts("2000.01"), currency="CNY"),
        earlier((D(2026, 1, 5), "24000")),
        False,
        "over_period_value_cap",
        "0",
        "182.00",
        "182.00",
    ),
    (
        "cn-last-year-not-counted",
        "CN",
        parcel(tshirts("2000"), currency="CNY"),
        earlier((D(2025, 12, 31), "25000")),
        True,
        "duty_free",
        "0",
        "182.00",
        "182.00",
    ),
    # Chinese Taipei: TWD 2,000; six parcels per person per half-year. Headphones 10%, VAT 5%.
    (
        "tw-sixth-parcel",
        "TW",
        parcel(headphones("2000"), currency="TWD"),
        earlier(*[(D(2026, 2, n), "500") for n in range(1, 6)]),
        True,
        "within_duty_free_limit",
        "0",
        "0",
        "0",
    ),
    # Seventh: TWD 1,000 pays duty 100.00 and VAT 5% of 1,100 = 55.00.
    (
        "tw-seventh-parcel",
        "TW",
        parcel(headphones("1000"), currency="TWD"),
        earlier(*[(D(2026, 2, n), "500") for n in range(1, 7)]),
        False,
        "over_period_count_cap",
        "100.00",
        "55.00",
        "155.00",
    ),
    (
        "tw-new-half-year",
        "TW",
        parcel(headphones("1000"), currency="TWD", day=D(2026, 7, 1)),
        earlier(*[(D(2026, 6, n), "500") for n in range(1, 7)]),
        True,
        "within_duty_free_limit",
        "0",
        "0",
        "0",
    ),
    # 2,000.01: duty 200.001 -> 200.00; VAT 5% of 2,200.011 -> 110.00.
    (
        "tw-just-above",
        "TW",
        parcel(headphones("2000.01"), currency="TWD"),
        [],
        False,
        "over_limit",
        "200.00",
        "110.00",
        "310.00",
    ),
]


@pytest.fixture
def configured():
    load_presets()
    ExchangeRate.objects.create(date=APRIL, base="USD", currency="KRW", rate=Decimal(1400))
    since = D(2000, 1, 1)
    for economy, prefix, rate in [("CA", "61", 18), ("US", "6109", "16.5"), ("TW", "8518", 10)]:
        TariffRate.objects.create(
            economy=economy, hs_prefix=prefix, rate=Decimal(rate), effective_from=since
        )


def test_there_are_at_least_thirty_scenarios():
    assert len(SCENARIOS) >= 30


@pytest.mark.parametrize(
    ("economy", "given", "before", "eligible", "code", "duty", "tax", "total"),
    [pytest.param(*row[1:], id=row[0]) for row in SCENARIOS],
)
def test_scenario(configured, economy, given, before, eligible, code, duty, tax, total):
    result = assess_parcel(given, regime_code=economy, earlier=before)
    assert not result.held, result.hold_reason
    assert result.eligible is eligible, result.reasons
    assert code in [r.code for r in result.reasons], result.reasons
    assert (result.duty, result.tax, result.total_due) == (
        Decimal(duty),
        Decimal(tax),
        Decimal(total),
    )
    assert sum(line.duty + line.tax for line in result.lines) + result.fees == result.total_due


def test_the_reason_says_the_value_and_the_limit_in_words(configured):
    result = assess_parcel(parcel(headphones("212.40")), regime_code="KR")
    assert result.reasons[0].message == "Value 212.40 USD exceeds the 150 USD duty-free limit."
    third = assess_parcel(
        parcel(headphones("100")),
        regime_code="KR",
        earlier=earlier((APRIL, "140000"), (APRIL, "98000")),
    )
    assert "Parcel number 3 for this consignee today: combined value 270.00 USD." in [
        r.message for r in third.reasons
    ]
    tobacco = assess_parcel(parcel(("240311", "30", "CN")), regime_code="KR")
    assert "(HS 24) is excluded from this mode." in tobacco.reasons[0].message


def test_a_missing_exchange_rate_holds_the_parcel(configured):
    result = assess_parcel(parcel(headphones("100"), currency="GBP"), regime_code="KR")
    assert result.held
    assert result.hold_reason.startswith(
        "No exchange rate from GBP to KRW is in force on 2026-04-13"
    )


def test_a_rate_older_than_a_week_is_not_used(configured):
    result = assess_parcel(parcel(headphones("100"), day=D(2026, 4, 21)), regime_code="KR")
    assert result.held
    assert "USD" in result.hold_reason


def test_a_value_just_over_a_limit_is_not_shown_rounded_down_to_it(configured):
    result = assess_parcel(parcel(tshirts("16667"), currency="JPY"), regime_code="JP")
    assert (
        result.reasons[-1].message == "Value 10,000.2 JPY exceeds the 10,000 JPY duty-free limit."
    )


def test_excluded_goods_are_named_once_however_many_lines_carry_them(configured):
    result = assess_parcel(
        parcel(("240311", "10", "CN"), ("240319", "10", "CN"), headphones("10")), regime_code="KR"
    )
    assert [r.code for r in result.reasons].count("excluded_goods") == 1
    assert [line.excluded for line in result.lines] == [True, True, False]
