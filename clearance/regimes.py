"""The low-value mode with what is in force: a parcel assessed under the regime, tariff and
exchange rates of its date (``ParcelAssessor``), and the reference data a new portal starts
from.

What is in force has modules of its own, below this one:

- ``clearance.regime_rules``: the regime in force, its rules as the assessment reads them, and
  the validation and the save of an administrator's edit;
- ``clearance.exchange_rates``: the rate in force, importing rate files (the feed's too), and
  demo rates;
- ``clearance.tariff``: the tariff in force and its import;
- ``clearance.presets``: the preset regimes of the 21 APEC economies.

Writes go through the functions of those modules: each owns its transaction and records the
acting user on the history rows it causes.
"""

import dataclasses
import datetime
from collections.abc import Sequence

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from clearance import assessment
from clearance.assessment_types import AssessmentResult, EarlierParcel, ParcelInput, Reason, held
from clearance.exchange_rates import (
    DEFAULT_RATE_DAYS,
    ECB_DEMO_FILE,
    Quote,
    demo_rates_carry_forward,
    import_exchange_rates,
    quote_in_force,
    source_name,
)
from clearance.presets import load_presets
from clearance.regime_rules import regime_in_force, rules_of
from clearance.tariff import DEMO_TARIFF_FILE, import_tariff, tariff_in_force

# --- Assessing a parcel with what is in force --------------------------------------------


class ParcelAssessor:
    """Assesses parcels of one economy and one day: loads the regime, tariff and exchange rates
    in force once, however many parcels it is given (a batch of a thousand declarations would
    otherwise make thousands of identical queries; the answers depend only on the economy and
    the date). ``assess_parcel`` is it for one parcel.

    Never raises for missing configuration: the result is ``held`` with a plain reason instead.
    A demo exchange rate (``demo_rates_carry_forward``) adds a reason saying so.
    """

    def __init__(self, on: datetime.date, code: str | None = None) -> None:
        self.on = on
        self.code = (code or settings.PORTAL_ECONOMY).upper()
        regime = regime_in_force(self.code, on)
        self.days = regime.exchange_rate_days if regime is not None else DEFAULT_RATE_DAYS
        self.rules = rules_of(regime) if regime is not None else None
        self.tariff = tariff_in_force(self.code, on) if regime is not None else []
        self._quotes: dict[str, Quote | None] = {}

    @property
    def aggregation_since(self) -> datetime.date | None:
        """The first day the regime's aggregation rules look back to (a day, a half-year, a
        year), or None when it has none: how far back a consignee's parcels matter."""
        if self.rules is None or not self.rules.aggregation:
            return None
        return min(assessment.period_start(self.on, rule.period) for rule in self.rules.aggregation)

    def needed(self, currency: str) -> set[str]:
        """The currencies a parcel in ``currency`` needs rates for."""
        assert self.rules is not None
        return {currency, self.rules.threshold_currency} - {self.rules.local_currency}

    def quote(self, currency: str) -> Quote | None:
        assert self.rules is not None
        if currency not in self._quotes:
            self._quotes[currency] = quote_in_force(
                currency, self.rules.local_currency, self.on, days=self.days
            )
        return self._quotes[currency]

    def can_assess(self, currency: str) -> bool:
        """Whether a parcel in ``currency`` would be assessed (not held) on this day."""
        return self.rules is not None and all(self.quote(c) for c in self.needed(currency))

    def assess(
        self, parcel: ParcelInput, earlier: Sequence[EarlierParcel] = ()
    ) -> AssessmentResult:
        if self.rules is None:
            reason = _("No low-value regime for %(code)s is in force on %(date)s.") % {
                "code": self.code,
                "date": parcel.date.isoformat(),
            }
            return held(
                regime=self.code, parcel=parcel, currency="", reason=reason, code="regime_missing"
            )
        quotes = {c: q for c in sorted(self.needed(parcel.currency)) if (q := self.quote(c))}
        result = assessment.assess(
            parcel,
            self.rules,
            tariff=self.tariff,
            rates={c: q.rate for c, q in quotes.items()},
            earlier=earlier,
        )
        demo = [
            Reason(
                "demo_exchange_rate",
                _(
                    "Demo rate for %(currency)s, carried forward from the %(source)s rate of "
                    "%(date)s: no newer rate has been published. A portal in production would "
                    "hold this parcel until one is."
                )
                % {
                    "currency": code,
                    "source": source_name(quote.source),
                    "date": quote.carried_from.isoformat(),
                },
            )
            for code, quote in quotes.items()
            if quote.carried_from is not None
        ]
        if demo and not result.held:
            result = dataclasses.replace(result, reasons=(*result.reasons, *demo))
        return result


def assess_parcel(
    parcel: ParcelInput,
    *,
    regime_code: str | None = None,
    earlier: Sequence[EarlierParcel] = (),
) -> AssessmentResult:
    """Assess ``parcel`` under the regime, tariff and exchange rates in force on its date.

    ``regime_code`` is an ISO 3166 alpha-2 code; by default the portal's own economy.
    """
    return ParcelAssessor(parcel.date, regime_code).assess(parcel, earlier)


# --- Reference data ----------------------------------------------------------------------


def load_reference_data() -> str:
    """Presets, the shipped ECB rates and the demo tariff; safe to run again. What a new
    portal needs before its first parcel, demo or not (``manage.py load_reference_data``)."""
    presets = load_presets()
    rates = import_exchange_rates(ECB_DEMO_FILE)
    tariff = import_tariff(DEMO_TARIFF_FILE.read_text(encoding="utf-8"))
    return (
        f"{presets} preset regimes created, {rates} exchange rates and {tariff} tariff rows loaded"
    )


def load_demo() -> str:
    """The reference data, and (DEBUG only) demo rates carried forward to today."""
    loaded = load_reference_data()
    carried = demo_rates_carry_forward(timezone.localdate())
    if carried:
        loaded += f", {carried} demo exchange rates carried forward to today"
    return loaded
