"""Money as a person reads it: the currency's ISO decimals, the reader's separators, the code."""

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from clearance.money import format_money

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (Decimal("344287"), "KRW", "344,287 KRW"),
        ("344287", "KRW", "344,287 KRW"),
        (344287, "KRW", "344,287 KRW"),
        ("59.00", "USD", "59.00 USD"),
        (Decimal("1234.5"), "USD", "1,234.50 USD"),
        ("59", "USD", "59.00 USD"),
        ("1234567", "JPY", "1,234,567 JPY"),
        ("1234.5", "BHD", "1,234.500 BHD"),
        ("0.125", "BHD", "0.125 BHD"),
        ("0", "KRW", "0 KRW"),
    ],
)
@pytest.mark.parametrize("language", ["en", "ko"])
def test_it_shows_the_currencys_decimals_grouped_and_its_code(amount, currency, shown, language):
    assert format_money(amount, currency, language) == shown.replace(" ", NBSP)


def test_the_number_and_the_code_are_held_together_by_a_non_breaking_space():
    assert format_money("344287", "KRW", "en") == "344,287\u00a0KRW"


def test_it_uses_the_iso_minor_unit_not_cldr_digits():
    # CLDR shows forints and Iraqi dinars without decimals; ISO 4217, which the assessment
    # rounds to, gives them two and three.
    assert format_money("1500", "HUF", "en") == f"1,500.00{NBSP}HUF"
    assert format_money("1500", "IQD", "en") == f"1,500.000{NBSP}IQD"


def test_it_rounds_half_up_only_an_amount_with_more_places_than_the_currency_has():
    assert format_money("0.5", "KRW", "en") == f"1{NBSP}KRW"
    assert format_money("2.5", "JPY", "en") == f"3{NBSP}JPY"  # half-even would say 2
    assert format_money("10.005", "USD", "en") == f"10.01{NBSP}USD"
    assert format_money("1.0005", "BHD", "en") == f"1.001{NBSP}BHD"
    # The database keeps four places; they are only padding for KRW.
    assert format_money(Decimal("344287.0000"), "KRW", "en") == f"344,287{NBSP}KRW"


def test_negative_ledger_balances_keep_their_sign():
    assert format_money(Decimal("-30000"), "KRW", "en") == f"-30,000{NBSP}KRW"
    assert format_money("-1234.5", "USD", "ko") == f"-1,234.50{NBSP}USD"
    assert format_money("-1234.5", "BHD", "en") == f"-1,234.500{NBSP}BHD"


def test_a_tiny_negative_that_rounds_to_zero_reads_zero():
    assert format_money("-0.001", "USD", "en") == f"0.00{NBSP}USD"


@pytest.mark.parametrize("amount", [None, "", "  "])
def test_no_amount_reads_not_assessed_never_none(amount):
    assert format_money(amount, "KRW", "en") == "Not assessed"
    with translation.override("ko"):
        shown = format_money(amount, "KRW")
    assert "None" not in shown
    assert shown


def test_the_separators_are_the_readers():
    assert format_money("1234567.5", "USD", "de") == f"1.234.567,50{NBSP}USD"
    assert format_money("1234567.5", "USD", "en") == f"1,234,567.50{NBSP}USD"


def test_without_a_language_it_uses_the_active_one():
    with translation.override("de"):
        assert format_money("1234.5", "EUR") == f"1.234,50{NBSP}EUR"
    with translation.override("ko"):
        assert format_money("344287", "KRW") == f"344,287{NBSP}KRW"


def test_an_unknown_language_falls_back_to_english_separators():
    assert format_money("1234.5", "USD", "xx") == f"1,234.50{NBSP}USD"


def test_a_code_the_portal_does_not_know_keeps_the_amounts_own_decimals():
    assert format_money("1234.5", "XYZ", "en") == f"1,234.5{NBSP}XYZ"
    assert format_money("1234", "", "en") == "1,234"


def test_something_that_is_not_an_amount_is_refused():
    with pytest.raises(ValueError, match="Not an amount"):
        format_money("12 USD", "USD", "en")
    with pytest.raises(ValueError, match="Not an amount"):
        format_money("NaN", "USD", "en")
    with pytest.raises(TypeError):
        format_money(1.5, "USD", "en")


def render(source: str, **context: object) -> str:
    return Template("{% load portal %}" + source).render(Context(context))


def test_the_filter_formats_in_the_active_language():
    with translation.override("en"):
        assert render("{{ a|money:c }}", a="344287", c="KRW") == f"344,287{NBSP}KRW"
        assert render("{{ a|money:c }}", a=None, c="KRW") == "Not assessed"
        assert render("{{ a|money:c }}", a=Decimal("-12.5"), c="USD") == f"-12.50{NBSP}USD"
    with translation.override("ko"):
        assert render("{{ a|money:c }}", a="1234.5", c="USD") == f"1,234.50{NBSP}USD"


def test_the_filter_takes_an_assessments_amount_and_currency():
    assessment = {"total_due": {"amount": "59.00", "currency": "USD"}}
    shown = render("{{ a.total_due.amount|money:a.total_due.currency }}", a=assessment)
    assert shown == f"59.00{NBSP}USD"


DEMO_RATE = {
    "code": "demo_exchange_rate",
    "message": "Demo rate: USD carried forward from the ECB rate of 2026-04-13",
    "blocking": False,
}


def test_the_exchange_rate_note_shows_only_the_demo_rate_reason():
    assessment = {
        "reasons": [
            {"code": "over_duty_limit", "message": "Value 212.40 USD exceeds.", "blocking": False},
            DEMO_RATE,
        ]
    }
    html = render("{% exchange_rate_note a %}", a=assessment)
    assert DEMO_RATE["message"] in html
    assert "exceeds" not in html


@pytest.mark.parametrize("assessment", [{}, {"reasons": []}, None, ""])
def test_without_a_demo_rate_the_note_is_empty(assessment):
    assert render("{% exchange_rate_note a %}", a=assessment).strip() == ""
