"""The public estimator: a page and an API that compute without saving."""

import datetime
import uuid
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from clearance.models import ExchangeRate
from clearance.presets import load_presets

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 4, 13)


@pytest.fixture
def korea():
    load_presets()
    ExchangeRate.objects.create(date=DAY, base="USD", currency="KRW", rate=Decimal(1400))


def body(**changes):
    data = {
        "date": "2026-04-13",
        "transport_mode": "express",
        "purpose": "personal",
        "currency": "USD",
        "shipping_cost": "5.00",
        "insurance_cost": "0",
        "tax_collected_at_sale": False,
        "vendor_tax_id": "",
        "seller": {"country": "CN"},
        "consignee": {"country": "KR", "id_number": "P123456789012"},
        "lines": [
            {
                "description": "Wireless headphones",
                "hs_code": "851830",
                "quantity": "1",
                "value": "212.40",
                "origin_country": "CN",
            }
        ],
    }
    data.update(changes)
    return data


def api():
    # A fresh client address per test: the estimate API is throttled per address.
    return APIClient(REMOTE_ADDR=f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7")


def test_the_api_estimates_a_parcel_for_anyone_without_signing_in(korea):
    response = api().post("/api/v1/estimate/", body(), format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["regime"] == "KR"
    assert data["eligible"] is False
    assert data["reasons"][0] == {
        "code": "over_limit",
        "message": "Value 212.40 USD exceeds the 150 USD duty-free limit.",
        "blocking": True,
    }
    # 212.40 x 1400 = 297,360; duty 8% = 23,788.8 -> 23,789; tax 10% of 321,148.8 -> 32,115.
    assert data["customs_value"] == {"amount": "297360", "currency": "KRW"}
    assert data["duty"] == {"amount": "23789", "currency": "KRW"}
    assert data["tax"] == {"amount": "32115", "currency": "KRW"}
    assert data["fees"] == {"amount": "0", "currency": "KRW"}
    assert data["total_due"] == {"amount": "55904", "currency": "KRW"}
    assert data["lines"][0]["duty"] == "23789"


def test_the_api_takes_another_economys_regime(korea):
    response = api().post(
        "/api/v1/estimate/",
        body(regime="jp", currency="JPY", lines=[{**body()["lines"][0], "value": "16000"}]),
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["regime"] == "JP"
    assert response.json()["eligible"] is True


def test_bad_input_gets_the_error_envelope_with_field_paths(korea):
    line = {**body()["lines"][0], "hs_code": "85183"}
    response = api().post(
        "/api/v1/estimate/", body(currency="XYZ", regime="Z9", lines=[line]), format="json"
    )
    assert response.status_code == 400  # outside the schema: an enum, two patterns
    data = response.json()
    assert data["code"] == "invalid"
    fields = {error["field"] for error in data["errors"]}
    assert fields == {"currency", "regime", "lines[0].hs_code"}


def test_what_the_schema_cannot_say_is_a_422_naming_each_field(korea):
    line = {**body()["lines"][0], "hs_code": "999999", "quantity": "0"}
    response = api().post("/api/v1/estimate/", body(regime="ZZ", lines=[line]), format="json")
    assert response.status_code == 422
    fields = {(error["field"], error["code"]) for error in response.json()["errors"]}
    assert fields == {
        ("regime", "unknown"),
        ("lines[0].hs_code", "unknown"),
        ("lines[0].quantity", "not_positive"),
    }


def test_a_missing_rate_is_reported_as_held_not_an_error(korea):
    response = api().post("/api/v1/estimate/", body(currency="GBP"), format="json")
    assert response.status_code == 200
    assert response.json()["held"] is True
    assert response.json()["total_due"]["amount"] is None


def test_the_api_is_throttled_per_client(korea, settings):
    settings.ESTIMATE_API_RATE = "2/min"
    client = api()
    statuses = [
        client.post("/api/v1/estimate/", body(), format="json").status_code for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    assert client.post("/api/v1/estimate/", body(), format="json").json()["code"] == "throttled"


def page_data(**changes):
    data = {
        "regime": "KR",
        "date": "2026-04-13",
        "transport_mode": "express",
        "purpose": "personal",
        "currency": "USD",
        "shipping_cost": "5",
        "insurance_cost": "0",
        "seller_country": "US",
        "consignee_id": "P123456789012",
        "vendor_tax_id": "",
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "1",
        "lines-MAX_NUM_FORMS": "20",
        "lines-0-description": "Sneakers",
        "lines-0-hs_code": "640411",
        "lines-0-quantity": "1",
        "lines-0-value": "180",
        "lines-0-origin_country": "VN",
        "lines-1-quantity": "1",
        "lines-2-quantity": "1",
    }
    data.update(changes)
    return data


def test_the_page_explains_the_rules_in_words(client, korea):
    page = client.get("/estimate/").content.decode()
    assert "A parcel worth up to 150 USD owes no duty." in page
    assert "Goods shipped from the United States (KORUS): the limit is USD 200." in page
    assert "Parcels for the same person arriving on the same day are counted together" in page
    assert "/publications/" in page


def test_the_page_estimates_a_parcel_without_signing_in(client, korea):
    response = client.post("/estimate/", page_data())
    assert response.status_code == 200
    page = response.content.decode()
    assert "This parcel fits the low-value mode." in page
    assert "Value 180.00 USD is within the 200 USD duty-free limit." in page


def test_the_page_shows_what_is_due_above_the_limit(client, korea):
    page = client.post("/estimate/", page_data(**{"lines-0-value": "250"})).content.decode()
    assert "This parcel does not fit the low-value mode." in page
    # 250 x 1400 = 350,000; duty 8% = 28,000; tax 10% of 378,000 = 37,800; total 65,800.
    assert "data-total-due>65,800\u00a0KRW<" in page


def test_the_page_lists_every_error_in_a_summary(client, korea):
    response = client.post(
        "/estimate/", page_data(currency="", **{"lines-0-hs_code": "12", "lines-0-value": ""})
    )
    page = response.content.decode()
    assert "There is a problem" in page
    assert 'href="#id_currency"' in page
    assert 'href="#id_lines-0-hs_code"' in page
    assert "Item 1: Price paid for all of them" in page
    assert "Your estimate" not in page


def test_a_link_can_open_the_estimator_on_another_economys_rules(client, korea):
    page = client.get("/estimate/?regime=jp").content.decode()
    assert "For goods for personal use, 60% of the price is counted." in page
    assert '<option value="JP" selected>' in page
    unknown = client.get("/estimate/?regime=ZZ").content.decode()
    assert "A parcel worth up to 150 USD owes no duty." in unknown
