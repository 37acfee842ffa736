"""Preset regimes for the 21 APEC economies: the limits, currencies, sources and certainty of
``de-minimis-apec.csv``, with the rules its notes describe (``PRESET_RULES``).

``load_presets`` creates the presets not configured yet; a period an administrator already
configured is left alone.
"""

import csv
import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from clearance.models import Certainty, Regime, User
from clearance.reference import DATA_DIR
from clearance.regime_rules import regime_save

PRESETS_FILE = DATA_DIR / "de-minimis-apec.csv"

ALCOHOL_AND_TOBACCO = ["2203", "2204", "2205", "2206", "2207", "2208", "24"]
ALL_MODES = ["postal", "express", "cargo"]
OPEN_FROM = datetime.date(2000, 1, 1)

# What the CSV's notes say, as configuration. The rows' limits, currencies, sources and
# certainty come from the CSV itself; tax rates are each economy's standard consumption tax.
PRESET_RULES: dict[str, list[dict[str, Any]]] = {
    "AU": [
        {
            "local_currency": "AUD",
            "tax_rate": "10",
            "default_duty_rate": "5",
            "collection_model": "vendor",
            "vendor_collection_up_to": "1000",
            "vendor_tax_id_pattern": r"\d{11,12}",
            "effective_from": datetime.date(2018, 7, 1),
        }
    ],
    "BN": [{"local_currency": "BND"}],
    "CA": [
        {
            "local_currency": "CAD",
            "duty_free_up_to": "20",
            "tax_free_up_to": "20",
            "tax_rate": "5",
            "threshold_overrides": [
                {
                    "origins": ["US", "MX"],
                    "basis": "goods_origin",
                    "transport_modes": ["express"],
                    "duty_free_up_to": "150",
                    "tax_free_up_to": "40",
                    "note": "Courier goods originating in the US or Mexico (CUSMA): duty free "
                    "up to CAD 150, tax free up to CAD 40.",
                }
            ],
            "effective_from": datetime.date(2020, 7, 1),
        }
    ],
    "CL": [{"local_currency": "CLP", "tax_rate": "19", "default_duty_rate": "6"}],
    "CN": [
        {
            "local_currency": "CNY",
            "duty_free_up_to": None,
            "tax_free_up_to": "0",
            "transaction_cap": "5000",
            "tax_rate": "9.1",
            # Customs converts at a monthly rate (set from the previous month's).
            "exchange_rate_days": 31,
            "aggregation_rules": [{"kind": "value_cap", "period": "year", "limit": "26000"}],
            "effective_from": datetime.date(2019, 1, 1),
        }
    ],
    "HK": [
        {
            "local_currency": "HKD",
            "excluded_hs_prefixes": [*ALCOHOL_AND_TOBACCO, "2710", "290511"],
        }
    ],
    "ID": [
        {
            "local_currency": "IDR",
            "tax_rate": "11",
            "default_duty_rate": "7.5",
            "effective_from": datetime.date(2020, 1, 1),
        }
    ],
    "JP": [
        {
            "local_currency": "JPY",
            "personal_use_percent": "60",
            # Japan Customs publishes its customs rates weekly.
            "exchange_rate_days": 7,
            "tax_rate": "10",
            "default_duty_rate": "5",
        }
    ],
    "KR": [
        {
            "local_currency": "KRW",
            "tax_rate": "10",
            "default_duty_rate": "8",
            # The Korea Customs Service publishes weekly customs exchange rates.
            "exchange_rate_days": 7,
            "threshold_overrides": [
                {
                    "origins": ["US"],
                    "basis": "shipped_from",
                    "duty_free_up_to": "200",
                    "tax_free_up_to": "200",
                    "note": "Goods shipped from the United States (KORUS): the limit is USD 200.",
                }
            ],
            "aggregation_rules": [{"kind": "combine", "period": "day"}],
            "consignee_id_required": True,
            "consignee_id_pattern": r"P\d{12}",
            "eligible_transport_modes": ["postal", "express"],
        }
    ],
    "MY": [
        {
            "local_currency": "MYR",
            "value_basis": "cif",
            "tax_rate": "10",
            "collection_model": "vendor",
            "vendor_collection_up_to": "500",
            "effective_from": datetime.date(2024, 1, 1),
        }
    ],
    "MX": [{"local_currency": "MXN", "tax_rate": "16"}],
    "NZ": [
        {
            "local_currency": "NZD",
            "tax_rate": "15",
            "collection_model": "vendor",
            "vendor_collection_up_to": "1000",
            "waive_below": "60",
            "effective_from": datetime.date(2019, 12, 1),
        }
    ],
    "PG": [{"local_currency": "PGK", "duty_free_up_to": "0", "tax_free_up_to": "0"}],
    "PE": [{"local_currency": "PEN", "tax_rate": "18"}],
    "PH": [{"local_currency": "PHP", "tax_rate": "12"}],
    "RU": [{"local_currency": "RUB", "tax_rate": "20"}],
    "SG": [
        {
            "local_currency": "SGD",
            "value_basis": "cif",
            "tax_rate": "9",
            "collection_model": "vendor",
            "vendor_collection_up_to": "400",
            "effective_from": datetime.date(2023, 1, 1),
        }
    ],
    "TW": [
        {
            "local_currency": "TWD",
            "tax_rate": "5",
            "aggregation_rules": [{"kind": "count_cap", "period": "half_year", "limit": "6"}],
        }
    ],
    "TH": [
        {
            "local_currency": "THB",
            "value_basis": "cif",
            "tax_rate": "7",
            "effective_from": datetime.date(2024, 7, 5),
        }
    ],
    "US": [
        {
            "local_currency": "USD",
            "duty_free_up_to": "800",
            "tax_free_up_to": "800",
            # CBP converts at quarterly rates certified by the New York Fed (19 CFR 159.34).
            "exchange_rate_days": 92,
            "effective_from": datetime.date(2016, 3, 10),
            "effective_to": datetime.date(2025, 8, 28),
            "threshold_overrides": [
                {
                    "purposes": ["gift"],
                    "duty_free_up_to": "800",
                    "tax_free_up_to": "800",
                    "note": "Bona fide gifts.",
                }
            ],
        },
        {
            "local_currency": "USD",
            "exchange_rate_days": 92,
            "effective_from": datetime.date(2025, 8, 29),
            "threshold_overrides": [
                {
                    "purposes": ["gift"],
                    "duty_free_up_to": "100",
                    "tax_free_up_to": "100",
                    "note": "Bona fide gifts up to USD 100 remain free.",
                }
            ],
        },
    ],
    "VN": [
        {
            "local_currency": "VND",
            "tax_rate": "10",
            "effective_from": datetime.date(2025, 2, 18),
        }
    ],
}


def _csv_amount(text: str) -> Decimal | None:
    return Decimal(text) if text.strip() else None


def preset_rows() -> list[dict[str, str]]:
    with PRESETS_FILE.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load_presets(*, by: User | None = None) -> int:
    """Create each APEC economy's preset regime(s) that does not exist yet; returns how many.

    Safe to run again: a period an administrator already configured is left alone.
    """
    created = 0
    with transaction.atomic():
        for row in preset_rows():
            code = row["iso2"]
            for extra in PRESET_RULES[code]:
                start = extra.get("effective_from", OPEN_FROM)
                if Regime.objects.filter(economy=code, effective_from=start).exists():
                    continue
                regime = Regime(
                    economy=code,
                    name=_("%(economy)s low-value imports") % {"economy": row["economy"]},
                    threshold_currency=row["currency"],
                    duty_free_up_to=_csv_amount(row["duty_free_up_to"]),
                    tax_free_up_to=_csv_amount(row["tax_free_up_to"]),
                    excluded_hs_prefixes=list(ALCOHOL_AND_TOBACCO),
                    eligible_transport_modes=list(ALL_MODES),
                    effective_from=start,
                    notes=row["notes"],
                    source=row["source"],
                    certainty=row["certainty"] or Certainty.NONE,
                )
                for name, value in extra.items():
                    if name in {"effective_from"}:
                        continue
                    field = Regime._meta.get_field(name)
                    if value is not None and field.get_internal_type() == "DecimalField":
                        value = Decimal(value)
                    setattr(regime, name, value)
                regime_save(regime=regime, by=by)
                created += 1
    return created
