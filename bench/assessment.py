"""How fast the pure assessment runs, and how fast the ECB rates file parses.

Run: DEBUG=true .venv/bin/python bench/assessment.py [path to an ECB CSV]
Prints each figure beside the baseline measured when the code was written (same machine
class, Python 3.12), so a regression shows as a ratio well above 1.
"""

import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clearance.settings")
django.setup()

from clearance.assessment import assess  # noqa: E402
from clearance.assessment_types import (  # noqa: E402
    AggregationRule,
    EarlierParcel,
    LineInput,
    Override,
    ParcelInput,
    RegimeRules,
    TariffLine,
)
from clearance.exchange_rates import ECB_DEMO_FILE, parse_exchange_rates  # noqa: E402

BASELINE = {"parcel_1_line": 60.0, "parcel_999_lines": 6500.0, "ecb_rows_per_s": 130000.0}

KOREA = RegimeRules(
    economy="KR",
    local_currency="KRW",
    threshold_currency="USD",
    duty_free_up_to=Decimal(150),
    tax_free_up_to=Decimal(150),
    tax_rate=Decimal(10),
    default_duty_rate=Decimal(8),
    excluded_hs_prefixes=("2203", "2204", "2205", "2206", "2207", "2208", "24"),
    overrides=(Override(origins=frozenset({"US"}), duty_free_up_to=Decimal(200)),),
    aggregation=(AggregationRule("combine", "day"),),
    consignee_id_required=True,
    consignee_id_pattern=r"P\d{12}",
)
TARIFF = [TariffLine(f"{c:02d}", Decimal(c % 13)) for c in range(1, 98)] + [
    TariffLine("8518", Decimal(8)),
    TariffLine("851830", Decimal(0)),
]
RATES = {"USD": Decimal("1489.952071")}


def parcel(lines: int) -> ParcelInput:
    rng = random.Random(lines)
    return ParcelInput(
        date=__import__("datetime").date(2026, 4, 13),
        transport_mode="express",
        purpose="personal",
        currency="USD",
        shipping_cost=Decimal("12.50"),
        insurance_cost=Decimal("1.25"),
        tax_collected_at_sale=False,
        vendor_tax_id="",
        seller_country="CN",
        consignee_country="KR",
        consignee_id="P123456789012",
        lines=tuple(
            LineInput(
                "goods",
                rng.choice(["851830", "610910", "640411", "330499"]),
                Decimal(rng.randint(1, 5)),
                Decimal(rng.randint(100, 99999)) / 100,
                "CN",
            )
            for _ in range(lines)
        ),
    )


def microseconds_per_call(lines: int, repeat: int) -> float:
    given = parcel(lines)
    earlier = [EarlierParcel(given.date, Decimal(50000))]
    start = time.perf_counter()
    for _ in range(repeat):
        assess(given, KOREA, tariff=TARIFF, rates=RATES, earlier=earlier)
    return (time.perf_counter() - start) / repeat * 1e6


def ecb_rows_per_second(path: Path) -> float:
    with path.open(encoding="utf-8", newline="") as handle:
        start = time.perf_counter()
        count = sum(1 for _ in parse_exchange_rates(handle))
    return count / (time.perf_counter() - start)


def show(name: str, value: float, unit: str, lower_is_better: bool = True) -> None:
    ratio = value / BASELINE[name] if lower_is_better else BASELINE[name] / value
    print(
        f"{name:<18} {value:>12,.1f} {unit:<8} baseline {BASELINE[name]:>12,.1f}  ratio {ratio:.2f}"
    )


if __name__ == "__main__":
    ecb = Path(sys.argv[1]) if len(sys.argv) > 1 else ECB_DEMO_FILE
    show("parcel_1_line", microseconds_per_call(1, 5000), "µs")
    show("parcel_999_lines", microseconds_per_call(999, 20), "µs")
    show("ecb_rows_per_s", ecb_rows_per_second(ecb), "rows/s", lower_is_better=False)
