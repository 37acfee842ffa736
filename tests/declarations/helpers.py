"""Declarations as a platform would send them, for the tests of this app."""

import copy
from itertools import count
from typing import Any

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
