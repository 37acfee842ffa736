"""The assessment of a low-value parcel: customs value, eligibility with reasons, duty, tax, fees.

``assess`` is a pure function of plain values (the parcel, a snapshot of the regime, the tariff
lines and the exchange rates in force; see ``clearance.assessment_types``), so the same input
gives the same result on any day. ``clearance.regimes.assess_parcel`` loads those values from
the database for the parcel's date and calls it.

Rounding happens once, in its own step (``_rounded_result``). Every line's customs value, duty
and tax is computed exactly (``Decimal`` at 28 digits, exchange rates unrounded) and then
rounded half-up to the minor unit of the local currency; the totals are the sums of the rounded
lines, so the lines always add up to the totals shown. The handling fee is a configured amount
in the local currency, rounded the same way. Limits are compared with the exact (unrounded)
value; the waiver alone looks at what the rounded lines would owe, and keeps nothing rounded.
"""

import datetime
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clearance.assessment_types import (
    HUNDRED,
    ZERO,
    AssessmentResult,
    EarlierParcel,
    LineResult,
    ParcelInput,
    Reason,
    RegimeRules,
    TariffLine,
    held,
)
from clearance.reference import currency_decimals, hs_description

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

    The steps, in order: the values (``_line_values``, ``_threshold_value``); eligibility
    (``_check_eligibility``); the limits that apply (``_limits``), aggregation (``_aggregate``),
    collection by a vendor (``_vendor_collection``) and the verdict on the limits
    (``_judge_limits``); duty and tax, exact (``_exact_amounts``); the waiver (``_waive``); and
    the one rounding step (``_rounded_result``, described in the module docstring).
    """
    local = rules.local_currency
    needed = {parcel.currency, rules.threshold_currency} - {local}
    missing = sorted(code for code in needed if code not in rates)
    if missing:
        return _held_for_rates(parcel, rules, missing)
    convert = _Conversion(local, rules.threshold_currency, rates)
    found = _Findings()
    line_values = _line_values(parcel, rules, found)
    test_value = _threshold_value(parcel, sum(line_values, ZERO), convert)
    excluded = _check_eligibility(parcel, rules, test_value, found)
    duty_free, tax_free = _limits(parcel, rules, found)
    compared_value = _aggregate(parcel, rules, earlier, test_value, convert, found)
    limits = _Limits(duty_free, tax_free, compared_value)
    vendor_collected = _vendor_collection(parcel, rules, limits.value, found)
    _judge_limits(limits, rules.threshold_currency, vendor_collected, found)
    eligible = not found.blocking
    owe_duty = not (eligible and limits.duty_relief)
    owe_tax = not vendor_collected and not (eligible and limits.tax_relief)
    exact = _exact_amounts(
        parcel, rules, line_values, tariff, convert, owe_duty=owe_duty, owe_tax=owe_tax
    )
    if rules.waive_below is not None and (owe_duty or owe_tax):
        exact = _waive(exact, local, rules.waive_below, found)
    return _rounded_result(
        parcel,
        rules,
        exact,
        excluded=excluded,
        eligible=eligible,
        reasons=found.reasons,
        used={code: rates[code] for code in sorted(needed)},
    )


# --- The steps of the assessment, in the order ``assess`` takes them ---------------------


@dataclass
class _Findings:
    """The reasons found so far, in the order they are shown, and whether any of them takes the
    parcel out of the low-value mode."""

    reasons: list[Reason] = field(default_factory=list)
    blocking: bool = False

    def note(self, code: str, message: str) -> None:
        self.reasons.append(Reason(code, message))

    def block(self, code: str, message: str) -> None:
        self.blocking = True
        self.reasons.append(Reason(code, message, blocking=True))


@dataclass(frozen=True)
class _Conversion:
    """Conversions at the rates in force, exact (neither the rates nor the results rounded)."""

    local: str
    threshold: str
    rates: Mapping[str, Decimal]

    def to_local(self, amount: Decimal, currency: str) -> Decimal:
        return amount if currency == self.local else amount * self.rates[currency]

    def to_threshold(self, amount_local: Decimal) -> Decimal:
        if self.threshold == self.local:
            return amount_local
        return amount_local / self.rates[self.threshold]


@dataclass(frozen=True)
class _Limits:
    """The limits that apply to a parcel and the value compared with them, in the threshold
    currency. A limit of None means no limit (a free port); zero means no relief at all."""

    duty_free: Decimal | None
    tax_free: Decimal | None
    value: Decimal

    @property
    def no_relief(self) -> bool:
        return self.duty_free == 0 and self.tax_free == 0

    @property
    def duty_relief(self) -> bool:
        return self.duty_free is None or self.value <= self.duty_free

    @property
    def tax_relief(self) -> bool:
        return self.tax_free is None or self.value <= self.tax_free


class _Exact(NamedTuple):
    """One line's amounts in the local currency, before the rounding step."""

    customs_value: Decimal
    duty_rate: Decimal
    duty: Decimal
    tax: Decimal


def _held_for_rates(
    parcel: ParcelInput, rules: RegimeRules, missing: Sequence[str]
) -> AssessmentResult:
    reason = _(
        "No exchange rate from %(currencies)s to %(local)s is in force on %(date)s; the "
        "declaration is held until the rate is published."
    ) % {
        "currencies": ", ".join(missing),
        "local": rules.local_currency,
        "date": parcel.date.isoformat(),
    }
    return held(
        regime=rules.economy,
        parcel=parcel,
        currency=rules.local_currency,
        reason=reason,
        code="rate_missing",
    )


def _line_values(parcel: ParcelInput, rules: RegimeRules, found: _Findings) -> list[Decimal]:
    """Each line's value in the parcel's currency, exact: the personal-use share of its price,
    plus its share of shipping and insurance when the value basis includes them."""
    factor = rules.personal_use_percent / HUNDRED if parcel.purpose == "personal" else Decimal(1)
    goods_total = sum((line.value for line in parcel.lines), ZERO)
    extras = parcel.shipping_cost + parcel.insurance_cost if rules.value_basis == "cif" else ZERO
    values = []
    for line in parcel.lines:
        if goods_total:
            share = extras * line.value / goods_total
        else:
            share = extras / len(parcel.lines) if parcel.lines else ZERO
        values.append(line.value * factor + share)
    if factor != 1:
        found.note(
            "personal_use_factor",
            _("For goods for personal use the taxable value is %(percent)s%% of the price.")
            % {"percent": f"{rules.personal_use_percent.normalize():f}"},
        )
    return values


def _threshold_value(parcel: ParcelInput, parcel_value: Decimal, convert: _Conversion) -> Decimal:
    """The value tested against the limits: the parcel's, in the threshold currency."""
    if parcel.currency == convert.threshold:
        return parcel_value
    return convert.to_threshold(convert.to_local(parcel_value, parcel.currency))


def _check_eligibility(
    parcel: ParcelInput, rules: RegimeRules, test_value: Decimal, found: _Findings
) -> set[int]:
    """What keeps a parcel out of the low-value mode whatever its value against the limits: its
    transport mode, excluded goods, the consignee's identification, the cap per transaction.
    Returns the indexes of the lines with excluded goods."""
    if rules.transport_modes and parcel.transport_mode not in rules.transport_modes:
        found.block(
            "transport_mode",
            _("Goods sent by %(mode)s cannot use the low-value mode here.")
            % {"mode": parcel.transport_mode},
        )
    excluded = _excluded_lines(parcel, rules, found)
    if rules.consignee_id_required:
        pattern = rules.consignee_id_pattern
        if not parcel.consignee_id:
            found.block(
                "consignee_id_missing",
                _("The consignee's identification number is required."),
            )
        elif pattern and not re.fullmatch(pattern, parcel.consignee_id):
            found.block(
                "consignee_id_invalid",
                _("The consignee's identification number %(id)s is not in the required form.")
                % {"id": parcel.consignee_id},
            )
    cap, thr = rules.transaction_cap, rules.threshold_currency
    if cap is not None and test_value > cap:
        found.block(
            "over_transaction_cap",
            _("Value %(value)s exceeds the %(cap)s limit per transaction.")
            % {"value": _value(test_value, thr, cap), "cap": _show(cap, thr)},
        )
    return excluded


def _excluded_lines(parcel: ParcelInput, rules: RegimeRules, found: _Findings) -> set[int]:
    excluded: set[int] = set()
    named: set[str] = set()
    for index, line in enumerate(parcel.lines):
        for prefix in rules.excluded_hs_prefixes:
            if line.hs_code.startswith(prefix):
                excluded.add(index)
                if prefix in named:
                    break  # said once per kind of goods, however many lines carry them
                named.add(prefix)
                label = goods_label(prefix) if hs_description(prefix) else line.description
                found.block(
                    "excluded_goods",
                    _("%(goods)s (HS %(prefix)s) is excluded from this mode.")
                    % {"goods": label, "prefix": prefix},
                )
                break
    return excluded


def _limits(
    parcel: ParcelInput, rules: RegimeRules, found: _Findings
) -> tuple[Decimal | None, Decimal | None]:
    """The duty-free and tax-free limits: the first matching override's, else the regime's."""
    for override in rules.overrides:
        if override.matches(parcel):
            found.note(
                "origin_override",
                override.note or _("Other limits apply to this parcel's origin or kind of goods."),
            )
            return override.duty_free_up_to, override.tax_free_up_to
    return rules.duty_free_up_to, rules.tax_free_up_to


def _aggregate(
    parcel: ParcelInput,
    rules: RegimeRules,
    earlier: Sequence[EarlierParcel],
    test_value: Decimal,
    convert: _Conversion,
    found: _Findings,
) -> Decimal:
    """The aggregation rules across the consignee's parcels of each rule's period. Returns the
    value compared with the limits: the combined value under a ``combine`` rule, else the
    parcel's own."""
    thr = convert.threshold
    compared_value = test_value
    for rule in rules.aggregation:
        start = period_start(parcel.date, rule.period)
        same = [p for p in earlier if start <= p.date <= parcel.date]
        words = str(_PERIOD_WORDS.get(rule.period, rule.period))
        if rule.kind == "combine" and same:
            combined = _combined(test_value, same, convert)
            compared_value = combined
            found.note(
                "aggregated",
                _(
                    "Parcel number %(number)s for this consignee %(period)s: combined "
                    "value %(value)s."
                )
                % {"number": len(same) + 1, "period": words, "value": _value(combined, thr)},
            )
        elif rule.kind == "value_cap":
            combined = _combined(test_value, same, convert)
            if combined > rule.limit:
                found.block(
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
            found.block(
                "over_period_count_cap",
                _(
                    "Parcel number %(number)s for this consignee %(period)s: at most %(limit)s "
                    "may use the low-value mode."
                )
                % {"number": len(same) + 1, "period": words, "limit": f"{rule.limit:f}"},
            )
    return compared_value


def _combined(test_value: Decimal, same: Sequence[EarlierParcel], convert: _Conversion) -> Decimal:
    """The parcel's value with the earlier parcels' of the period, in the threshold currency."""
    return test_value + sum((convert.to_threshold(p.customs_value) for p in same), ZERO)


def _vendor_collection(
    parcel: ParcelInput, rules: RegimeRules, value: Decimal, found: _Findings
) -> bool:
    """Whether a registered vendor collected the tax at sale, so that none is due at the border:
    only under the vendor collection model, with a valid tax number, within the vendors' limit."""
    if rules.collection_model != "vendor" or not parcel.tax_collected_at_sale:
        return False
    pattern = rules.vendor_tax_id_pattern
    valid_id = bool(parcel.vendor_tax_id) and (
        not pattern or re.fullmatch(pattern, parcel.vendor_tax_id) is not None
    )
    if not valid_id:
        found.note(
            "vendor_tax_id_invalid",
            _(
                "The tax was said to be collected at sale, but the vendor's tax number "
                "is missing or not valid: tax is due at the border."
            ),
        )
        return False
    up_to = rules.vendor_collection_up_to
    if up_to is not None and value > up_to:
        found.note(
            "over_vendor_collection_limit",
            _("Vendors collect the tax only up to %(limit)s: tax is due at the border.")
            % {"limit": _show(up_to, rules.threshold_currency)},
        )
        return False
    found.note(
        "tax_collected_at_sale",
        _("The registered vendor %(id)s collected the tax at sale.") % {"id": parcel.vendor_tax_id},
    )
    return True


def _judge_limits(limits: _Limits, thr: str, vendor_collected: bool, found: _Findings) -> None:
    """The verdict on the de minimis limits, for a parcel nothing else blocked: no relief in this
    economy, over every limit, or a reason for each of duty and tax."""
    if found.blocking:
        return
    if limits.no_relief:
        found.block(
            "no_de_minimis",
            _("This economy grants no de minimis relief: duty and tax are due on every parcel."),
        )
    elif not limits.duty_relief and not limits.tax_relief:
        limit = max(limits.duty_free or ZERO, limits.tax_free or ZERO)
        kind = _("duty-free") if limit == limits.duty_free else _("tax-free")
        found.block(
            "over_limit",
            _("Value %(value)s exceeds the %(limit)s %(kind)s limit.")
            % {"value": _value(limits.value, thr, limit), "limit": _show(limit, thr), "kind": kind},
        )
    else:
        found.reasons.append(_duty_reason(limits, thr))
        tax = _tax_reason(limits, thr, vendor_collected)
        if tax is not None:
            found.reasons.append(tax)


def _duty_reason(limits: _Limits, thr: str) -> Reason:
    duty_free = limits.duty_free
    if duty_free is None:
        return Reason("duty_free", _("No duty is charged on goods in this mode."))
    words = {"value": _value(limits.value, thr, duty_free), "limit": _show(duty_free, thr)}
    if limits.duty_relief:
        return Reason(
            "within_duty_free_limit",
            _("Value %(value)s is within the %(limit)s duty-free limit.") % words,
        )
    return Reason(
        "over_duty_free_limit",
        _("Value %(value)s exceeds the %(limit)s duty-free limit: duty is due.") % words,
    )


def _tax_reason(limits: _Limits, thr: str, vendor_collected: bool) -> Reason | None:
    """None when tax over the limit was collected at sale (that reason is given already)."""
    tax_free = limits.tax_free
    if tax_free is None:
        return Reason("tax_free", _("No tax is charged on goods in this mode."))
    words = {"value": _value(limits.value, thr, tax_free), "limit": _show(tax_free, thr)}
    if limits.tax_relief:
        return Reason(
            "within_tax_free_limit",
            _("Value %(value)s is within the %(limit)s tax-free limit.") % words,
        )
    if vendor_collected:
        return None
    return Reason(
        "over_tax_free_limit",
        _("Value %(value)s exceeds the %(limit)s tax-free limit: tax is due.") % words,
    )


def _exact_amounts(
    parcel: ParcelInput,
    rules: RegimeRules,
    line_values: Sequence[Decimal],
    tariff: Sequence[TariffLine],
    convert: _Conversion,
    *,
    owe_duty: bool,
    owe_tax: bool,
) -> list[_Exact]:
    """Each line's value, duty and tax in the local currency, exact. Duty: the rate of the tariff
    line with the longest prefix of the HS code (else the regime's default rate) plus its
    specific amount per unit; tax: the tax rate on the value plus duty."""
    exact = []
    tariff_of = _tariff_index(tariff)
    for line, value in zip(parcel.lines, line_values, strict=True):
        value_local = convert.to_local(value, parcel.currency)
        row = tariff_of(line.hs_code)
        rate = row.rate if row else rules.default_duty_rate
        specific = row.specific_amount * line.quantity if row else ZERO
        duty = value_local * rate / HUNDRED + specific if owe_duty else ZERO
        tax = (value_local + duty) * rules.tax_rate / HUNDRED if owe_tax else ZERO
        exact.append(_Exact(value_local, rate, duty, tax))
    return exact


def _waive(exact: list[_Exact], local: str, waive_below: Decimal, found: _Findings) -> list[_Exact]:
    """Duty and tax together below ``waive_below`` are not collected. They are compared as the
    rounding step would give them; the amounts kept stay exact."""
    owed = sum((_round(line.duty, local) + _round(line.tax, local) for line in exact), ZERO)
    if not ZERO < owed < waive_below:
        return exact
    found.note(
        "waived",
        _("Duty and tax of %(owed)s are below %(limit)s and are not collected.")
        % {"owed": _value(owed, local), "limit": _show(waive_below, local)},
    )
    return [line._replace(duty=ZERO, tax=ZERO) for line in exact]


def _rounded_result(
    parcel: ParcelInput,
    rules: RegimeRules,
    exact: Sequence[_Exact],
    *,
    excluded: set[int],
    eligible: bool,
    reasons: Sequence[Reason],
    used: Mapping[str, Decimal],
) -> AssessmentResult:
    """The rounding step, the only one (see the module docstring): each line's value, duty and
    tax rounded to the local currency's minor unit, the totals summed from the rounded lines,
    and the handling fee rounded the same way."""
    local = rules.local_currency
    lines = tuple(
        LineResult(
            hs_code=line.hs_code,
            customs_value=_round(amounts.customs_value, local),
            duty_rate=amounts.duty_rate,
            duty=_round(amounts.duty, local),
            tax=_round(amounts.tax, local),
            excluded=index in excluded,
        )
        for index, (line, amounts) in enumerate(zip(parcel.lines, exact, strict=True))
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
