"""The assessment of a low-value parcel: customs value, eligibility with reasons, duty, tax, fees.

``assess`` is a pure function of plain values (the parcel, a snapshot of the regime, the tariff
lines and the exchange rates in force), so the same input gives the same result on any day.
``clearance.regimes.assess_parcel`` loads those values from the database for the parcel's date
and calls it.

Rounding happens once. Every line's customs value, duty and tax is computed exactly (``Decimal``
at 28 digits, exchange rates unrounded) and then rounded half-up to the minor unit of the local
currency; the totals are the sums of the rounded lines, so the lines always add up to the
totals shown. The handling fee is a configured amount in the local currency, rounded the same
way. Limits are compared with the exact (unrounded) value.
"""

import datetime
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clearance.reference import currency_decimals, hs_description

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


# --- The pure assessment -----------------------------------------------------------------


def _round(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-currency_decimals(currency)), ROUND_HALF_UP)


def _show(amount: Decimal, currency: str) -> str:
    """A limit for a message: as configured, without trailing zeros ("150 USD")."""
    return f"{amount.normalize():,f} {currency}"


def _value(amount: Decimal, currency: str, limit: Decimal | None = None) -> str:
    """A value for a message, rounded to the currency's decimals ("212.40 USD"); exact when
    rounding would make it look equal to the limit it passed ("10,000.2 JPY")."""
    rounded = _round(amount, currency)
    if limit is not None and rounded == limit and amount != limit:
        return f"{amount.normalize():,f} {currency}"
    return f"{rounded:,} {currency}"


def goods_label(prefix: str) -> str:
    """A short name for the goods under an HS prefix: its description up to the first comma."""
    text = hs_description(prefix)
    return text.split(";")[0].split(",")[0].strip() or prefix


def period_start(day: datetime.date, period: str) -> datetime.date:
    """The first day of the aggregation period (a day, a half-year, a year) holding ``day``."""
    if period == "day":
        return day
    if period == "half_year":
        return day.replace(month=1 if day.month <= 6 else 7, day=1)
    return day.replace(month=1, day=1)


_PERIOD_WORDS = {
    "day": gettext_lazy("today"),
    "half_year": gettext_lazy("this half-year"),
    "year": gettext_lazy("this year"),
}


def tariff_for(hs_code: str, tariff: Sequence[TariffLine]) -> TariffLine | None:
    """The tariff line with the longest prefix of ``hs_code``, if any."""
    return _tariff_index(tariff)(hs_code)


def _tariff_index(tariff: Sequence[TariffLine]) -> Callable[[str], TariffLine | None]:
    # A dictionary by prefix: a 999-line parcel looks up three keys a line, not every row.
    by_prefix = {row.hs_prefix: row for row in tariff}
    lengths = sorted({len(prefix) for prefix in by_prefix}, reverse=True)

    def lookup(hs_code: str) -> TariffLine | None:
        for length in lengths:
            row = by_prefix.get(hs_code[:length])
            if row is not None and len(hs_code) >= length:
                return row
        return None

    return lookup


def assess(
    parcel: ParcelInput,
    rules: RegimeRules,
    *,
    tariff: Sequence[TariffLine] = (),
    rates: Mapping[str, Decimal],
    earlier: Sequence[EarlierParcel] = (),
) -> AssessmentResult:
    """Assess ``parcel`` under ``rules``.

    ``rates`` gives, for each currency the parcel needs, how many units of the local currency
    one unit of it buys (the parcel's currency and the threshold currency; the local currency
    itself needs none). A missing rate holds the parcel instead of guessing. ``earlier`` are the
    consignee's earlier parcels, for the aggregation rules.

    The rounding step is described in the module docstring.
    """
    local = rules.local_currency
    needed = {parcel.currency, rules.threshold_currency} - {local}
    missing = sorted(code for code in needed if code not in rates)
    if missing:
        reason = _(
            "No exchange rate from %(currencies)s to %(local)s is in force on %(date)s; the "
            "declaration is held until the rate is published."
        ) % {"currencies": ", ".join(missing), "local": local, "date": parcel.date.isoformat()}
        return held(
            regime=rules.economy, parcel=parcel, currency=local, reason=reason, code="rate_missing"
        )
    used = {code: rates[code] for code in sorted(needed)}

    def to_local(amount: Decimal, currency: str) -> Decimal:
        return amount if currency == local else amount * rates[currency]

    reasons: list[Reason] = []

    # Value of each line in the parcel's currency, exact: the personal-use share of the price,
    # plus its share of shipping and insurance when the value basis includes them.
    factor = rules.personal_use_percent / HUNDRED if parcel.purpose == "personal" else Decimal(1)
    goods_total = sum((line.value for line in parcel.lines), ZERO)
    extras = parcel.shipping_cost + parcel.insurance_cost if rules.value_basis == "cif" else ZERO
    line_values = []
    for line in parcel.lines:
        if goods_total:
            share = extras * line.value / goods_total
        else:
            share = extras / len(parcel.lines) if parcel.lines else ZERO
        line_values.append(line.value * factor + share)
    parcel_value = sum(line_values, ZERO)
    if factor != 1:
        reasons.append(
            Reason(
                "personal_use_factor",
                _("For goods for personal use the taxable value is %(percent)s%% of the price.")
                % {"percent": f"{rules.personal_use_percent.normalize():f}"},
            )
        )

    # The value tested against the limits, in the threshold currency.
    thr = rules.threshold_currency

    def to_threshold(amount_local: Decimal) -> Decimal:
        return amount_local if thr == local else amount_local / rates[thr]

    if parcel.currency == thr:
        test_value = parcel_value
    else:
        test_value = to_threshold(to_local(parcel_value, parcel.currency))

    blocking = False

    def block(code: str, message: str) -> None:
        nonlocal blocking
        blocking = True
        reasons.append(Reason(code, message, blocking=True))

    if rules.transport_modes and parcel.transport_mode not in rules.transport_modes:
        block(
            "transport_mode",
            _("Goods sent by %(mode)s cannot use the low-value mode here.")
            % {"mode": parcel.transport_mode},
        )

    excluded_lines: set[int] = set()
    named: set[str] = set()
    for index, line in enumerate(parcel.lines):
        for prefix in rules.excluded_hs_prefixes:
            if line.hs_code.startswith(prefix):
                excluded_lines.add(index)
                if prefix in named:
                    break  # said once per kind of goods, however many lines carry them
                named.add(prefix)
                label = goods_label(prefix) if hs_description(prefix) else line.description
                block(
                    "excluded_goods",
                    _("%(goods)s (HS %(prefix)s) is excluded from this mode.")
                    % {"goods": label, "prefix": prefix},
                )
                break

    if rules.consignee_id_required:
        pattern = rules.consignee_id_pattern
        if not parcel.consignee_id:
            block(
                "consignee_id_missing",
                _("The consignee's identification number is required."),
            )
        elif pattern and not re.fullmatch(pattern, parcel.consignee_id):
            block(
                "consignee_id_invalid",
                _("The consignee's identification number %(id)s is not in the required form.")
                % {"id": parcel.consignee_id},
            )

    if rules.transaction_cap is not None and test_value > rules.transaction_cap:
        block(
            "over_transaction_cap",
            _("Value %(value)s exceeds the %(cap)s limit per transaction.")
            % {
                "value": _value(test_value, thr, rules.transaction_cap),
                "cap": _show(rules.transaction_cap, thr),
            },
        )

    # Limits: the first matching override, else the regime's own.
    duty_free, tax_free = rules.duty_free_up_to, rules.tax_free_up_to
    for override in rules.overrides:
        if override.matches(parcel):
            duty_free, tax_free = override.duty_free_up_to, override.tax_free_up_to
            reasons.append(
                Reason(
                    "origin_override",
                    override.note
                    or _("Other limits apply to this parcel's origin or kind of goods."),
                )
            )
            break

    # Aggregation across the consignee's parcels.
    compared_value = test_value
    for rule in rules.aggregation:
        start = period_start(parcel.date, rule.period)
        same = [p for p in earlier if start <= p.date <= parcel.date]
        words = str(_PERIOD_WORDS.get(rule.period, rule.period))
        if rule.kind == "combine" and same:
            combined = test_value + sum((to_threshold(p.customs_value) for p in same), ZERO)
            compared_value = combined
            reasons.append(
                Reason(
                    "aggregated",
                    _(
                        "Parcel number %(number)s for this consignee %(period)s: combined "
                        "value %(value)s."
                    )
                    % {
                        "number": len(same) + 1,
                        "period": words,
                        "value": _value(combined, thr),
                    },
                )
            )
        elif rule.kind == "value_cap":
            combined = test_value + sum((to_threshold(p.customs_value) for p in same), ZERO)
            if combined > rule.limit:
                block(
                    "over_period_value_cap",
                    _(
                        "Combined value for this consignee %(period)s, %(value)s, exceeds the "
                        "%(cap)s limit."
                    )
                    % {
                        "period": words,
                        "value": _value(combined, thr, rule.limit),
                        "cap": _show(rule.limit, thr),
                    },
                )
        elif rule.kind == "count_cap" and len(same) + 1 > rule.limit:
            block(
                "over_period_count_cap",
                _(
                    "Parcel number %(number)s for this consignee %(period)s: at most %(limit)s "
                    "may use the low-value mode."
                )
                % {"number": len(same) + 1, "period": words, "limit": f"{rule.limit:f}"},
            )

    # A limit of None means no limit (a free port); zero means no relief at all.
    no_relief = duty_free == 0 and tax_free == 0
    duty_relief = duty_free is None or compared_value <= duty_free
    tax_relief = tax_free is None or compared_value <= tax_free
    vendor_collected = False
    if rules.collection_model == "vendor" and parcel.tax_collected_at_sale:
        pattern = rules.vendor_tax_id_pattern
        valid_id = bool(parcel.vendor_tax_id) and (
            not pattern or re.fullmatch(pattern, parcel.vendor_tax_id) is not None
        )
        within = (
            rules.vendor_collection_up_to is None or compared_value <= rules.vendor_collection_up_to
        )
        if not valid_id:
            reasons.append(
                Reason(
                    "vendor_tax_id_invalid",
                    _(
                        "The tax was said to be collected at sale, but the vendor's tax number "
                        "is missing or not valid: tax is due at the border."
                    ),
                )
            )
        elif not within:
            reasons.append(
                Reason(
                    "over_vendor_collection_limit",
                    _("Vendors collect the tax only up to %(limit)s: tax is due at the border.")
                    % {"limit": _show(rules.vendor_collection_up_to or ZERO, thr)},
                )
            )
        else:
            vendor_collected = True
            reasons.append(
                Reason(
                    "tax_collected_at_sale",
                    _("The registered vendor %(id)s collected the tax at sale.")
                    % {"id": parcel.vendor_tax_id},
                )
            )

    if no_relief and not blocking:
        block(
            "no_de_minimis",
            _("This economy grants no de minimis relief: duty and tax are due on every parcel."),
        )
    elif not blocking and not duty_relief and not tax_relief:
        limit = max(duty_free or ZERO, tax_free or ZERO)
        kind = _("duty-free") if limit == duty_free else _("tax-free")
        block(
            "over_limit",
            _("Value %(value)s exceeds the %(limit)s %(kind)s limit.")
            % {
                "value": _value(compared_value, thr, limit),
                "limit": _show(limit, thr),
                "kind": kind,
            },
        )
    elif not blocking:
        if duty_free is None:
            reasons.append(Reason("duty_free", _("No duty is charged on goods in this mode.")))
        elif duty_relief:
            reasons.append(
                Reason(
                    "within_duty_free_limit",
                    _("Value %(value)s is within the %(limit)s duty-free limit.")
                    % {
                        "value": _value(compared_value, thr, duty_free),
                        "limit": _show(duty_free, thr),
                    },
                )
            )
        else:
            reasons.append(
                Reason(
                    "over_duty_free_limit",
                    _("Value %(value)s exceeds the %(limit)s duty-free limit: duty is due.")
                    % {
                        "value": _value(compared_value, thr, duty_free),
                        "limit": _show(duty_free or ZERO, thr),
                    },
                )
            )
        if tax_free is None:
            reasons.append(Reason("tax_free", _("No tax is charged on goods in this mode.")))
        elif tax_relief:
            reasons.append(
                Reason(
                    "within_tax_free_limit",
                    _("Value %(value)s is within the %(limit)s tax-free limit.")
                    % {
                        "value": _value(compared_value, thr, tax_free),
                        "limit": _show(tax_free or ZERO, thr),
                    },
                )
            )
        elif not vendor_collected:
            reasons.append(
                Reason(
                    "over_tax_free_limit",
                    _("Value %(value)s exceeds the %(limit)s tax-free limit: tax is due.")
                    % {
                        "value": _value(compared_value, thr, tax_free),
                        "limit": _show(tax_free or ZERO, thr),
                    },
                )
            )

    eligible = not blocking
    owe_duty = not (eligible and duty_relief)
    owe_tax = not vendor_collected and not (eligible and tax_relief)

    # Per line, exact amounts first; then one rounding each.
    exact: list[tuple[Decimal, Decimal, Decimal, Decimal]] = []
    tariff_of = _tariff_index(tariff)
    for line, value in zip(parcel.lines, line_values, strict=True):
        value_local = to_local(value, parcel.currency)
        row = tariff_of(line.hs_code)
        rate = row.rate if row else rules.default_duty_rate
        specific = row.specific_amount * line.quantity if row else ZERO
        duty = value_local * rate / HUNDRED + specific if owe_duty else ZERO
        tax = (value_local + duty) * rules.tax_rate / HUNDRED if owe_tax else ZERO
        exact.append((value_local, rate, duty, tax))

    if rules.waive_below is not None and (owe_duty or owe_tax):
        owed = sum((_round(d, local) + _round(t, local) for _v, _r, d, t in exact), ZERO)
        if ZERO < owed < rules.waive_below:
            exact = [(v, r, ZERO, ZERO) for v, r, _d, _t in exact]
            reasons.append(
                Reason(
                    "waived",
                    _("Duty and tax of %(owed)s are below %(limit)s and are not collected.")
                    % {"owed": _value(owed, local), "limit": _show(rules.waive_below, local)},
                )
            )

    lines = tuple(
        LineResult(
            hs_code=line.hs_code,
            customs_value=_round(value, local),
            duty_rate=rate,
            duty=_round(duty, local),
            tax=_round(tax, local),
            excluded=index in excluded_lines,
        )
        for index, (line, (value, rate, duty, tax)) in enumerate(
            zip(parcel.lines, exact, strict=True)
        )
    )
    return AssessmentResult(
        regime=rules.economy,
        date=parcel.date,
        currency=local,
        eligible=eligible,
        reasons=tuple(reasons),
        customs_value=sum((line.customs_value for line in lines), ZERO),
        duty=sum((line.duty for line in lines), ZERO),
        tax=sum((line.tax for line in lines), ZERO),
        fees=_round(rules.handling_fee, local),
        lines=lines,
        exchange_rates=used,
    )
