"""Declarations as a platform would send them, for the tests of this app."""

import copy
from itertools import count
from typing import Any

from rest_framework.test import APIClient

from declarations import services

_refs = count(1)

LINE = {
    "description": "Wireless bluetooth headphones",
    "hs_code": "851830",
    "quantity": "2",
    "unit": "pcs",
    "value": "39.90",
    "origin_country": "CN",
    "gross_mass_kg": "0.6",
    "product_url": "https://shop.example/headphones",
}


def declaration_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "reference": f"ORDER-{next(_refs):06d}",
        "transport_mode": "express",
        "transport_document": "1Z999AA10123456784",
        "carrier": "Fast Parcel",
        "marketplace": "Shop Example",
        "order_reference": "SO-1001",
        "purpose": "personal",
        "seller": {
            "name": "Shenzhen Audio Ltd",
            "address": "1 Market St, Shenzhen",
            "country": "CN",
        },
        "consignee": {
            "name": "Kim Min-jun",
            "address": "12 Sejong-daero, Seoul",
            "country": "KR",
            "id_number": "P123456789012",
        },
        "currency": "USD",
        "shipping_cost": "5.00",
        "insurance_cost": "0.00",
        "tax_collected_at_sale": False,
        "vendor_tax_id": "",
        "lines": [
            copy.deepcopy(LINE),
            {**copy.deepcopy(LINE), "description": "Cotton T-shirts for men", "hs_code": "610910"},
        ],
    }
    data.update(overrides)
    return data


def fill_header(page: Any, reference: str) -> None:
    """Fill the filing form's parties and transport as a seller would, in the browser."""
    page.locator("#id_reference").fill(reference)
    page.locator("#id_transport_mode").select_option("express")
    page.locator("#id_transport_document").fill("1Z999AA10123456784")
    page.locator("#id_purpose").select_option("personal")
    page.locator("#id_seller_name").fill("Shenzhen Audio Ltd")
    page.locator("#id_seller_address").fill("1 Market St, Shenzhen")
    page.locator("#id_seller_country").fill("CN")
    page.locator("#id_consignee_name").fill("Kim Min-jun")
    page.locator("#id_consignee_address").fill("12 Sejong-daero, Seoul")
    page.locator("#id_consignee_country").fill("KR")
    page.locator("#id_consignee_id_number").fill("P123456789012")
    page.locator("#id_currency").fill("USD")
    page.locator("#id_shipping_cost").fill("5.00")


def client_for(secret: str) -> Any:
    """An API client that sends ``secret`` as its key."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def submit(organisation: Any, actor: Any, count: int = 1, **overrides: Any) -> list[int]:
    """File and submit ``count`` declarations through the services; their ids."""
    outcomes = services.declarations_create(
        organisation=organisation,
        items=[declaration_data(**overrides) for _ in range(count)],
        submit=True,
        actor=actor,
    )
    ids = []
    for outcome in outcomes:
        assert outcome.declaration is not None, outcome.errors
        ids.append(outcome.declaration.pk)
    return ids
