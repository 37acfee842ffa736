"""The plain values of the assessment: what ``clearance.assessment.assess`` reads (a parcel, a
snapshot of a regime's rules, tariff lines) and what it gives (a result with its reasons).

Frozen dataclasses without a database behind them, so that anyone can build them: a declaration,
the estimator, a test, a benchmark. ``clearance.assessment`` names them too.
"""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from clearance.reference import currency_decimals

ZERO = Decimal(0)
HUNDRED = Decimal(100)

# --- Input -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineInput:
    """One item line. ``value`` is the line's total price (all units) in the parcel's currency."""

    description: str
    hs_code: str
    quantity: Decimal
    value: Decimal
    origin_country: str
    gross_mass_kg: Decimal | None = None


@dataclass(frozen=True)
class ParcelInput:
    date: datetime.date
    transport_mode: str  # postal | express | cargo
    purpose: str  # personal | commercial | gift
    currency: str
    shipping_cost: Decimal
    insurance_cost: Decimal
    tax_collected_at_sale: bool
    vendor_tax_id: str
    seller_country: str
    consignee_country: str
    consignee_id: str
    lines: tuple[LineInput, ...]


@dataclass(frozen=True)
class EarlierParcel:
    """An earlier parcel of the same consignee: its date and customs value in local currency."""

    date: datetime.date
    customs_value: Decimal


@dataclass(frozen=True)
class Override:
    """Other limits for parcels from some origins, transport modes or purposes.

    ``basis`` says what "origin" means: ``shipped_from`` (the seller's country) or
    ``goods_origin`` (every line's country of origin). An empty set matches anything.
    """

    origins: frozenset[str] = frozenset()
    basis: str = "shipped_from"
    transport_modes: frozenset[str] = frozenset()
    purposes: frozenset[str] = frozenset()
    duty_free_up_to: Decimal | None = None
    tax_free_up_to: Decimal | None = None
    note: str = ""

    def matches(self, parcel: ParcelInput) -> bool:
        if self.transport_modes and parcel.transport_mode not in self.transport_modes:
            return False
        if self.purposes and parcel.purpose not in self.purposes:
            return False
        if not self.origins:
            return True
        if self.basis == "goods_origin":
            return all(line.origin_country in self.origins for line in parcel.lines)
        return parcel.seller_country in self.origins


@dataclass(frozen=True)
class AggregationRule:
    """``combine``: limits apply to the period's combined value; ``value_cap``/``count_cap``:
    the period's combined value or number of parcels may not pass ``limit``."""

    kind: str  # combine | value_cap | count_cap
    period: str  # day | half_year | year
    limit: Decimal = ZERO


@dataclass(frozen=True)
class RegimeRules:
    """A snapshot of one economy's low-value mode as in force on one date."""

    economy: str
    local_currency: str
    threshold_currency: str
    duty_free_up_to: Decimal | None
    tax_free_up_to: Decimal | None
    transaction_cap: Decimal | None = None
    value_basis: str = "goods"  # goods | cif
    personal_use_percent: Decimal = HUNDRED
    tax_rate: Decimal = ZERO  # percent
    default_duty_rate: Decimal = ZERO  # percent
    collection_model: str = "border"  # border | vendor
    vendor_collection_up_to: Decimal | None = None
    vendor_tax_id_pattern: str = ""
    excluded_hs_prefixes: tuple[str, ...] = ()
    overrides: tuple[Override, ...] = ()
    aggregation: tuple[AggregationRule, ...] = ()
    consignee_id_required: bool = False
    consignee_id_pattern: str = ""
    handling_fee: Decimal = ZERO
    waive_below: Decimal | None = None
    transport_modes: tuple[str, ...] = ()
    effective_from: datetime.date | None = None


@dataclass(frozen=True)
class TariffLine:
    hs_prefix: str
    rate: Decimal  # percent, ad valorem
    specific_amount: Decimal = ZERO  # local currency per unit of quantity


# --- Output ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    blocking: bool = False


@dataclass(frozen=True)
class LineResult:
    hs_code: str
    customs_value: Decimal
    duty_rate: Decimal
    duty: Decimal
    tax: Decimal
    excluded: bool = False


def _money(amount: Decimal | None, currency: str) -> str | None:
    if amount is None:
        return None
    return f"{amount:.{currency_decimals(currency)}f}"


@dataclass(frozen=True)
class AssessmentResult:
    """What a parcel owes under a regime. When ``held`` is true the amounts are zero and
    ``hold_reason`` says why the portal could not assess it (no regime, no exchange rate)."""

    regime: str
    date: datetime.date
    currency: str
    eligible: bool
    reasons: tuple[Reason, ...]
    customs_value: Decimal
    duty: Decimal
    tax: Decimal
    fees: Decimal
    lines: tuple[LineResult, ...]
    held: bool = False
    hold_reason: str = ""
    exchange_rates: Mapping[str, Decimal] = field(default_factory=dict)

    @property
    def total_due(self) -> Decimal:
        return self.duty + self.tax + self.fees

    def to_dict(self) -> dict[str, Any]:
        """The API's shape: money as strings with the local currency's decimals."""
        cur = self.currency

        def money(amount: Decimal) -> dict[str, str | None]:
            return {"amount": None if self.held else _money(amount, cur), "currency": cur}

        return {
            "regime": self.regime,
            "date": self.date.isoformat(),
            "eligible": self.eligible,
            "held": self.held,
            "hold_reason": self.hold_reason,
            "reasons": [
                {"code": r.code, "message": r.message, "blocking": r.blocking} for r in self.reasons
            ],
            "customs_value": money(self.customs_value),
            "duty": money(self.duty),
            "tax": money(self.tax),
            "fees": money(self.fees),
            "total_due": money(self.total_due),
            "exchange_rates": {
                code: str(rate) for code, rate in sorted(self.exchange_rates.items())
            },
            "lines": [
                {
                    "hs_code": line.hs_code,
                    "customs_value": _money(line.customs_value, cur),
                    "duty_rate": f"{line.duty_rate.normalize():f}",
                    "duty": _money(line.duty, cur),
                    "tax": _money(line.tax, cur),
                    "excluded": line.excluded,
                }
                for line in self.lines
            ],
        }


def held(
    *, regime: str, parcel: ParcelInput, currency: str, reason: str, code: str
) -> AssessmentResult:
    return AssessmentResult(
        regime=regime,
        date=parcel.date,
        currency=currency,
        eligible=False,
        reasons=(Reason(code, reason, blocking=True),),
        customs_value=ZERO,
        duty=ZERO,
        tax=ZERO,
        fees=ZERO,
        lines=(),
        held=True,
        hold_reason=reason,
    )
