from decimal import Decimal

import pytest

from declarations import validation
from tests.declarations.helpers import LINE, declaration_data


def errors_of(data, complete=True):
    _cleaned, errors = validation.check(data, complete=complete)
    return {e.field: e for e in errors}


def test_a_complete_declaration_passes_and_is_cleaned():
    cleaned = validation.clean(declaration_data(), complete=True)
    assert cleaned.header["seller_country"] == "CN"
    assert cleaned.header["shipping_cost"] == Decimal("5.00")
    assert cleaned.lines[1]["hs_code"] == "610910"
    assert cleaned.lines[0]["quantity"] == Decimal(2)


@pytest.mark.parametrize(
    "description",
    ["gift", "Goods", "sample", "parts", "accessories", "clothes", "items", "Some gifts", "misc."],
)
def test_a_description_that_says_nothing_is_refused(description):
    data = declaration_data()
    data["lines"][1]["description"] = description
    error = errors_of(data)["lines[1].description"]
    assert error.code == "vague"
    assert "does not describe" in error.message


@pytest.mark.parametrize("description", ["Women's cotton T-shirts", "Phone case parts in silicone"])
def test_a_description_naming_the_goods_is_accepted(description):
    data = declaration_data()
    data["lines"][0]["description"] = description
    assert "lines[0].description" not in errors_of(data)


def test_an_hs_code_must_be_a_six_digit_subheading_of_hs_2022():
    data = declaration_data()
    data["lines"][0]["hs_code"] = "8518"
    data["lines"][1]["hs_code"] = "851899"
    errors = errors_of(data)
    assert errors["lines[0].hs_code"].code == "invalid_hs_code"
    assert errors["lines[1].hs_code"].code == "unknown_hs_code"
    assert "HS 2022" in errors["lines[1].hs_code"].message


def test_countries_and_currencies_must_be_iso_codes():
    data = declaration_data(currency="XYZ")
    data["seller"]["country"] = "ZZ"
    data["lines"][0]["origin_country"] = "China"
    errors = errors_of(data)
    assert errors["currency"].code == "invalid_currency"
    assert errors["seller.country"].code == "invalid_country"
    assert errors["lines[0].origin_country"].code == "invalid_country"


def test_amounts_have_no_more_decimals_than_the_currency():
    data = declaration_data(currency="KRW", shipping_cost="3000.5")
    for line in data["lines"]:
        line["value"] = "45000"
    data["lines"][1]["value"] = "45000.10"
    errors = errors_of(data)
    assert errors["shipping_cost"].code == "decimal_places"
    assert errors["lines[1].value"].code == "decimal_places"
    assert "KRW amounts have at most 0 decimal places" in errors["lines[1].value"].message
    assert "lines[0].value" not in errors


def test_quantities_and_values_must_be_positive():
    data = declaration_data()
    data["lines"][0]["quantity"] = "0"
    data["lines"][1]["value"] = "-1"
    errors = errors_of(data)
    assert errors["lines[0].quantity"].code == "not_positive"
    assert errors["lines[1].value"].code == "not_positive"


def test_at_most_999_lines():
    data = declaration_data(lines=[dict(LINE) for _ in range(1000)])
    assert errors_of(data)["lines"].code == "too_many"
    data = declaration_data(lines=[dict(LINE) for _ in range(999)])
    assert errors_of(data) == {}


def test_a_draft_may_be_incomplete_but_not_wrong():
    data = {"reference": "D-1", "lines": [{"description": "Leather wallet", "hs_code": "12"}]}
    errors = errors_of(data, complete=False)
    assert set(errors) == {"lines[0].hs_code"}
    assert errors_of({"lines": []}, complete=False)["reference"].code == "required"


def test_submitting_needs_every_required_field():
    errors = errors_of({"reference": "D-2", "lines": [{}]}, complete=True)
    for name in (
        "transport_mode",
        "transport_document",
        "purpose",
        "seller.name",
        "consignee.country",
        "currency",
        "lines[0].description",
        "lines[0].hs_code",
        "lines[0].quantity",
        "lines[0].value",
        "lines[0].origin_country",
        "lines[0].gross_mass_kg",
    ):
        assert errors[name].code == "required", name


def test_tax_collected_at_sale_needs_the_vendors_tax_number():
    errors = errors_of(declaration_data(tax_collected_at_sale=True))
    assert errors["vendor_tax_id"].code == "required"
