"""The starting risk rules, lane thresholds and reference prices (see clearance/data/README.md)."""

import csv
import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data" / "reference-prices.csv"
START = datetime.date(2024, 1, 1)

RULES: list[dict[str, Any]] = [
    {
        "name": "Phones, chargers and batteries",
        "kind": "hs_prefix",
        "params": {"prefixes": ["8517", "8504", "8507"]},
        "points": 15,
        "reason_template": "Goods often counterfeited or mislabelled: HS {value}.",
    },
    {
        "name": "New filer",
        "kind": "new_filer",
        "params": {"first": 3},
        "points": 20,
        "reason_template": "Declaration {value} of this filer, one of its first {limit}.",
    },
    {
        "name": "Below the reference price",
        "kind": "undervaluation",
        "params": {"ratio": "0.25", "min_samples": 10},
        "points": 35,
        "reason_template": "Value {value} ({detail}) is under a quarter of the usual {limit}.",
    },
    {
        "name": "Just under the duty-free limit",
        "kind": "near_threshold",
        "params": {"within_percent": "5"},
        "points": 15,
        "reason_template": "Customs value {value} is just under the duty-free limit of {limit}.",
    },
    {
        "name": "Split shipments",
        "kind": "split_shipment",
        "params": {"parcels": 3, "days": 3},
        "points": 25,
        "reason_template": "{value} parcels for the same consignee within {limit} days.",
    },
    {
        "name": "Vague or mismatched description",
        "kind": "description",
        "params": {
            "vague_words": [
                "gift",
                "goods",
                "item",
                "items",
                "sample",
                "stuff",
                "product",
                "parts",
            ],
            "min_letters": 4,
            "match_hs": True,
        },
        "points": 15,
        "reason_template": "The description \u201c{value}\u201d is vague or does not fit {detail}.",
    },
    {
        "name": "Weight does not fit the value",
        "kind": "weight_value",
        "params": {"min_per_kg": "1000"},
        "points": 20,
        "reason_template": "Value per kg {value} is under {limit} (HS {detail}).",
    },
    {
        "name": "Medicines",
        "kind": "other_agency",
        "params": {"prefixes": ["3003", "3004"], "agency": "Ministry of Food and Drug Safety"},
        "points": 30,
        "reason_template": "Medicines (HS {value}) must be seen by the {detail}.",
    },
    {
        "name": "Arms and ammunition",
        "kind": "other_agency",
        "params": {"prefixes": ["93"], "agency": "National Police Agency"},
        "points": 70,
        "reason_template": "Arms or ammunition (HS {value}) must be seen by the {detail}.",
    },
]


def load(apps: Any, schema_editor: Any) -> None:
    RiskRule = apps.get_model("clearance", "RiskRule")
    RiskSettings = apps.get_model("clearance", "RiskSettings")
    ReferencePrice = apps.get_model("clearance", "ReferencePrice")
    RiskSettings.objects.get_or_create(pk=1)
    for rule in RULES:
        RiskRule.objects.get_or_create(
            name=rule["name"], defaults={**rule, "effective_from": START}
        )
    with DATA.open(newline="") as handle:
        rows = [
            ReferencePrice(
                hs6=row["hs6"],
                per_kg=Decimal(row["per_kg"]),
                currency="USD",
                samples=int(row["samples"]),
                source="kcs-synthetic",
            )
            for row in csv.DictReader(handle)
        ]
    ReferencePrice.objects.bulk_create(rows, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("clearance", "0004_risk_and_review")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
