"""Regimes, tariff and exchange rates: reading what is in force, presets, imports and writes.

Writes go through the functions here: each owns its transaction and records the acting user
on the history rows it causes.
"""

import csv
import dataclasses
import datetime
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from clearance import assessment
from clearance.actors import stamped
from clearance.assessment import AggregationRule, Override, RegimeRules, TariffLine
from clearance.errors import ServiceError
from clearance.models import Certainty, ExchangeRate, Regime, TariffRate, TransportMode, User
from clearance.queue import enqueue_on_commit
from clearance.reference import DATA_DIR, countries, currency_exists

# How long a rate stays in force where no regime says (``Regime.exchange_rate_days`` does for
# every assessment): a week, which covers a daily publisher's weekends and holidays.
DEFAULT_RATE_DAYS = 7

# Declarations held for a missing rate or regime are assessed again by this task (queued by
# name: the declarations app sits above this one) whenever rates or regimes change.
REASSESS_TASK = "declarations.reassess_held"

PRESETS_FILE = DATA_DIR / "de-minimis-apec.csv"
ECB_DEMO_FILE = DATA_DIR / "ecb-eurofxref-hist.csv"

OVERRIDE_KEYS = {
    "origins",
    "basis",
    "transport_modes",
    "purposes",
    "duty_free_up_to",
    "tax_free_up_to",
    "note",
}
AGGREGATION_KINDS = {"combine", "value_cap", "count_cap"}
AGGREGATION_PERIODS = {"day", "half_year", "year"}
PURPOSES = {"personal", "commercial", "gift"}

# --- Reading what is in force ------------------------------------------------------------


def regime_in_force(economy: str, on: datetime.date) -> Regime | None:
    return Regime.objects.filter(economy=economy).in_force(on).order_by("-effective_from").first()


def _decimal_or_none(value: Any) -> Decimal | None:
    return None if value is None or value == "" else Decimal(str(value))


def rules_of(regime: Regime) -> RegimeRules:
    """The plain snapshot of a regime that the pure assessment reads."""
    overrides = tuple(
        Override(
            origins=frozenset(item.get("origins", [])),
            basis=item.get("basis", "shipped_from"),
            transport_modes=frozenset(item.get("transport_modes", [])),
            purposes=frozenset(item.get("purposes", [])),
            duty_free_up_to=_decimal_or_none(item.get("duty_free_up_to")),
            tax_free_up_to=_decimal_or_none(item.get("tax_free_up_to")),
            note=item.get("note", ""),
        )
        for item in regime.threshold_overrides
    )
    aggregation = tuple(
        AggregationRule(
            kind=item["kind"], period=item["period"], limit=Decimal(str(item.get("limit", 0)))
        )
        for item in regime.aggregation_rules
    )
    return RegimeRules(
        economy=regime.economy,
        local_currency=regime.local_currency,
        threshold_currency=regime.threshold_currency,
        duty_free_up_to=regime.duty_free_up_to,
        tax_free_up_to=regime.tax_free_up_to,
        transaction_cap=regime.transaction_cap,
        value_basis=regime.value_basis,
        personal_use_percent=regime.personal_use_percent,
        tax_rate=regime.tax_rate,
        default_duty_rate=regime.default_duty_rate,
        collection_model=regime.collection_model,
        vendor_collection_up_to=regime.vendor_collection_up_to,
        vendor_tax_id_pattern=regime.vendor_tax_id_pattern,
        excluded_hs_prefixes=tuple(regime.excluded_hs_prefixes),
        overrides=overrides,
        aggregation=aggregation,
        consignee_id_required=regime.consignee_id_required,
        consignee_id_pattern=regime.consignee_id_pattern,
        handling_fee=regime.handling_fee,
        waive_below=regime.waive_below,
        transport_modes=tuple(regime.eligible_transport_modes),
        effective_from=regime.effective_from,
    )


def tariff_in_force(economy: str, on: datetime.date) -> list[TariffLine]:
    """The newest tariff row in force per prefix for an economy on a date."""
    rows = (
        TariffRate.objects.filter(economy=economy, effective_from__lte=on)
        .exclude(effective_to__lt=on)
        .order_by("hs_prefix", "-effective_from")
        .distinct("hs_prefix")
    )
    return [TariffLine(r.hs_prefix, r.rate, r.specific_amount) for r in rows]


@dataclasses.dataclass(frozen=True)
class Quote:
    """A rate in force: how many units of the local currency one unit of a currency buys, the
    day it was published for, and, for a demo rate, the day of the real rate it repeats."""

    rate: Decimal
    date: datetime.date
    carried_from: datetime.date | None = None
    source: str = ""


def quote_in_force(
    currency: str, local: str, on: datetime.date, *, days: int = DEFAULT_RATE_DAYS
) -> Quote | None:
    """The rate of ``currency`` in ``local`` in force on ``on``, or None.

    The newest rate published on or before the date and at most ``days - 1`` days earlier (a
    rate applies from its own day for ``days`` days): direct, inverse, or a cross rate through
    a base both are quoted against (the ECB's euro).
    """
    if currency == local:
        return Quote(Decimal(1), on)
    rows = ExchangeRate.objects.filter(
        date__lte=on,
        date__gt=on - datetime.timedelta(days=days),
        currency__in=[currency, local],
    ).values_list("date", "base", "currency", "rate", "carried_from", "source")
    by_date: dict[datetime.date, dict[tuple[str, str], tuple[Decimal, Any, str]]]
    by_date = defaultdict(dict)
    for day, base, quoted, rate, carried_from, source in rows:
        by_date[day][(base, quoted)] = (rate, carried_from, source)
    for day in sorted(by_date, reverse=True):
        pairs = by_date[day]
        if (currency, local) in pairs:
            rate, carried, source = pairs[(currency, local)]
            return Quote(rate, day, carried, source)
        if (local, currency) in pairs:
            rate, carried, source = pairs[(local, currency)]
            return Quote(Decimal(1) / rate, day, carried, source)
        for base, quoted in pairs:
            if quoted == local and (base, currency) in pairs:
                to_local, carried, source = pairs[(base, local)]
                from_currency, carried_too, _source = pairs[(base, currency)]
                return Quote(to_local / from_currency, day, carried or carried_too, source)
    return None


def rate_in_force(
    currency: str, local: str, on: datetime.date, *, days: int = DEFAULT_RATE_DAYS
) -> Decimal | None:
    """How many units of ``local`` one unit of ``currency`` buys on ``on`` (see
    ``quote_in_force``)."""
    quote = quote_in_force(currency, local, on, days=days)
    return None if quote is None else quote.rate


def source_name(source: str) -> str:
    """How a rate's source is named to a reader: the ECB, or the administration's own file."""
    return "ECB" if source.startswith("ECB") else _("published")


def newest_rates(on: datetime.date) -> dict[str, Any]:
    """What the newest stored rates are, for /healthz and the staff workspace: the date of the
    newest real (published) rate, where and when it was fetched, whether the rate in force
    today is a demo rate, and whether the newest real rate is older than the portal's regime
    allows (``stale``, with the regime's ``days``)."""
    regime = regime_in_force(settings.PORTAL_ECONOMY, on)
    days = regime.exchange_rate_days if regime is not None else DEFAULT_RATE_DAYS
    real = (
        ExchangeRate.objects.filter(carried_from__isnull=True, date__lte=on)
        .order_by("-date", "-fetched_at")
        .values("date", "source", "fetched_at")
        .first()
    )
    demo = ExchangeRate.objects.filter(carried_from__isnull=False, date=on).exists()
    newest = real["date"] if real else None
    return {
        "newest": newest,
        "source": real["source"] if real else "",
        "fetched_at": real["fetched_at"] if real else None,
        "days": days,
        "stale": newest is None or newest + datetime.timedelta(days=days) <= on,
        "demo": demo,
    }


# --- Validation and writes ---------------------------------------------------------------


def _check_regex(pattern: str, field: str, errors: dict[str, list[str]]) -> None:
    if pattern:
        try:
            re.compile(pattern)
        except re.error as error:
            errors[field].append(_("Not a valid regular expression: %(e)s.") % {"e": error})


def _check_amount(value: Any) -> bool:
    if value is None:
        return True
    try:
        return Decimal(str(value)) >= 0
    except InvalidOperation:
        return False


def regime_validate(regime: Regime) -> None:
    """Every rule an administrator's edit must keep; raises ``ValidationError`` per field."""
    errors: dict[str, list[str]] = defaultdict(list)
    if regime.economy not in countries():
        errors["economy"].append(_("Not an ISO 3166 alpha-2 country code."))
    for name in ("local_currency", "threshold_currency"):
        if not currency_exists(getattr(regime, name)):
            errors[name].append(_("Not a current ISO 4217 currency code."))
    prefixes = regime.excluded_hs_prefixes
    if not isinstance(prefixes, list) or not all(
        isinstance(p, str) and re.fullmatch(r"\d{2}|\d{4}|\d{6}", p) for p in prefixes
    ):
        errors["excluded_hs_prefixes"].append(
            _('Give a list of HS prefixes of 2, 4 or 6 digits, such as ["24", "2203"].')
        )
    modes = regime.eligible_transport_modes
    if not isinstance(modes, list) or not set(modes) <= set(TransportMode.values):
        errors["eligible_transport_modes"].append(
            _("Give a list of transport modes among postal, express and cargo.")
        )
    overrides = regime.threshold_overrides
    if not isinstance(overrides, list) or not all(isinstance(o, dict) for o in overrides):
        errors["threshold_overrides"].append(_("Give a list of objects."))
    else:
        for number, item in enumerate(overrides, start=1):
            unknown = set(item) - OVERRIDE_KEYS
            problem = ""
            if unknown:
                problem = _("unknown keys %(keys)s") % {"keys": ", ".join(sorted(unknown))}
            elif not set(item.get("origins", [])) <= set(countries()):
                problem = _("origins must be ISO 3166 alpha-2 codes")
            elif item.get("basis", "shipped_from") not in {"shipped_from", "goods_origin"}:
                problem = _("basis must be shipped_from or goods_origin")
            elif not set(item.get("transport_modes", [])) <= set(TransportMode.values):
                problem = _("transport_modes must be among postal, express and cargo")
            elif not set(item.get("purposes", [])) <= PURPOSES:
                problem = _("purposes must be among personal, commercial and gift")
            elif not all(_check_amount(item.get(k)) for k in ("duty_free_up_to", "tax_free_up_to")):
                problem = _("limits must be amounts of zero or more")
            if problem:
                errors["threshold_overrides"].append(
                    _("Override %(n)s: %(problem)s.") % {"n": number, "problem": problem}
                )
    rules = regime.aggregation_rules
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        errors["aggregation_rules"].append(_("Give a list of objects."))
    else:
        for number, item in enumerate(rules, start=1):
            if (
                item.get("kind") not in AGGREGATION_KINDS
                or item.get("period") not in AGGREGATION_PERIODS
                or (item.get("kind") != "combine" and not _check_amount(item.get("limit", "x")))
            ):
                errors["aggregation_rules"].append(
                    _(
                        "Rule %(n)s: kind must be combine, value_cap or count_cap, period day, "
                        "half_year or year, and caps need a limit."
                    )
                    % {"n": number}
                )
    _check_regex(regime.consignee_id_pattern, "consignee_id_pattern", errors)
    _check_regex(regime.vendor_tax_id_pattern, "vendor_tax_id_pattern", errors)
    if regime.consignee_id_required and not regime.consignee_id_pattern:
        errors["consignee_id_pattern"].append(
            _("Give the pattern of the identification number that is required.")
        )
    if not Decimal(0) < regime.personal_use_percent <= 100:
        errors["personal_use_percent"].append(_("Give a percentage above 0 and at most 100."))
    if (
        regime.effective_to
        and regime.effective_from
        and regime.effective_to < regime.effective_from
    ):
        errors["effective_to"].append(_("The last day cannot come before the first."))
    if regime.effective_from and regime.economy:
        others = Regime.objects.filter(economy=regime.economy).exclude(pk=regime.pk)
        end = regime.effective_to or datetime.date.max
        overlapping = others.filter(effective_from__lte=end).exclude(
            effective_to__lt=regime.effective_from
        )
        clash = overlapping.first()
        if clash is not None:
            errors["effective_from"].append(
                _("This period overlaps the regime in force from %(start)s.")
                % {"start": clash.effective_from.isoformat()}
            )
    if errors:
        raise ValidationError(dict(errors))


def regime_save(*, regime: Regime, by: User | None) -> Regime:
    """Validate and save a regime, recording who changed it. Declarations held for want of a
    regime (or of a rate it now allows) are assessed again after commit."""
    try:
        regime_validate(regime)
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        raise ServiceError(messages[0], field=field) from error
    with transaction.atomic():
        stamped(regime, by).save()
        enqueue_on_commit(REASSESS_TASK)
    return regime


# --- Presets for the 21 APEC economies ---------------------------------------------------

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


# --- Tariff import -----------------------------------------------------------------------

TARIFF_COLUMNS = ["economy", "hs_prefix", "rate", "specific_amount", "effective_from"]


def import_tariff(text: str, *, by: User | None = None) -> int:
    """Load tariff rows from CSV text; a row for an existing (economy, prefix, start) replaces it.

    Columns: economy, hs_prefix, rate (percent), specific_amount, effective_from, and optional
    effective_to and description. Any bad row refuses the whole file, naming the line.
    """
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in TARIFF_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ServiceError(
            _("The file lacks the columns: %(columns)s.") % {"columns": ", ".join(missing)},
            field="file",
        )
    count = 0
    with transaction.atomic():
        for number, row in enumerate(reader, start=2):
            try:
                values = {
                    "rate": Decimal(row["rate"]),
                    "specific_amount": Decimal(row["specific_amount"] or "0"),
                    "description": row.get("description") or "",
                    "effective_to": (
                        datetime.date.fromisoformat(row["effective_to"])
                        if row.get("effective_to")
                        else None
                    ),
                }
                start = datetime.date.fromisoformat(row["effective_from"])
            except (InvalidOperation, ValueError):
                raise ServiceError(
                    _("Line %(n)s: rate, amounts and dates must be numbers and ISO dates.")
                    % {"n": number},
                    field="file",
                ) from None
            prefix = row["hs_prefix"].strip()
            if not re.fullmatch(r"\d{2}|\d{4}|\d{6}", prefix) or row["economy"] not in countries():
                raise ServiceError(
                    _("Line %(n)s: give an ISO country code and an HS prefix of 2, 4 or 6 digits.")
                    % {"n": number},
                    field="file",
                )
            rate = TariffRate.objects.filter(
                economy=row["economy"], hs_prefix=prefix, effective_from=start
            ).first() or TariffRate(economy=row["economy"], hs_prefix=prefix, effective_from=start)
            for name, value in values.items():
                setattr(rate, name, value)
            stamped(rate, by).save()
            count += 1
    return count


# --- Exchange-rate import ----------------------------------------------------------------


_MONTHS = {
    name: number
    for number, name in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ],
        start=1,
    )
}


def _ecb_date(text: str) -> datetime.date:
    """The history file dates its rows ``2026-12-01``, the daily file ``01 December 2026``
    (English month names whatever the machine's locale)."""
    text = text.strip()
    parts = text.split()
    if len(parts) == 3 and parts[1].lower() in _MONTHS:
        return datetime.date(int(parts[2]), _MONTHS[parts[1].lower()], int(parts[0]))
    return datetime.date.fromisoformat(text)


def _ecb_rows(reader: Iterator[list[str]], header: list[str]) -> Iterator[ExchangeRate]:
    codes = [c.strip() for c in header[1:]]
    for number, row in enumerate(reader, start=2):
        if not row or not row[0].strip():
            continue
        try:
            day = _ecb_date(row[0])
        except ValueError:
            raise ServiceError(
                _("Line %(n)s: %(value)s is not a date.") % {"n": number, "value": row[0]},
                field="file",
            ) from None
        for code, text in zip(codes, row[1:], strict=False):
            text = text.strip()
            if not code or not text or text == "N/A":
                continue
            try:
                rate = Decimal(text)
            except InvalidOperation:
                raise ServiceError(
                    _("Line %(n)s: %(value)s is not a rate.") % {"n": number, "value": text},
                    field="file",
                ) from None
            yield ExchangeRate(date=day, base="EUR", currency=code, rate=rate)


def _plain_rows(
    reader: Iterator[list[str]], header: list[str], base: str
) -> Iterator[ExchangeRate]:
    names = [c.strip().lower() for c in header]
    has_base = "base" in names
    for number, row in enumerate(reader, start=2):
        if not row or not "".join(row).strip():
            continue
        record = dict(zip(names, (cell.strip() for cell in row), strict=False))
        try:
            day = datetime.date.fromisoformat(record["date"])
            rate = Decimal(record["rate"])
        except (KeyError, ValueError, InvalidOperation):
            raise ServiceError(
                _("Line %(n)s: give an ISO date and a rate.") % {"n": number}, field="file"
            ) from None
        currency = record.get("currency", "").upper()
        row_base = (record.get("base") if has_base else base) or base
        if not currency_exists(currency) or not currency_exists(row_base.upper()) or rate <= 0:
            raise ServiceError(
                _("Line %(n)s: unknown currency or a rate that is not positive.") % {"n": number},
                field="file",
            )
        yield ExchangeRate(date=day, base=row_base.upper(), currency=currency, rate=rate)


def is_ecb_layout(header: Sequence[str]) -> bool:
    return bool(header) and header[0].strip().lstrip("\ufeff") == "Date"


def parse_exchange_rates(lines: Iterable[str], *, base: str = "EUR") -> Iterator[ExchangeRate]:
    """Rows of either the ECB reference-rate CSV (``Date,USD,JPY,...``, units per euro,
    ``N/A`` for no quote, newest first, a trailing comma; the daily file and the history file)
    or a plain ``date,currency,rate`` CSV (units of ``currency`` per one ``base``; an optional
    ``base`` column overrides it)."""
    reader = csv.reader(lines)
    header = next(reader, [])
    if not header:
        raise ServiceError(_("The file is empty."), field="file")
    if is_ecb_layout(header):
        return _ecb_rows(reader, header)
    if {"date", "currency", "rate"} <= {c.strip().lower() for c in header}:
        return _plain_rows(reader, header, base)
    raise ServiceError(
        _("Neither the ECB layout (Date,USD,...) nor date,currency,rate."), field="file"
    )


def rates_import(
    lines: Iterable[str],
    *,
    source: str,
    base: str = "EUR",
    since: datetime.date | None = None,
    batch_size: int = 5000,
) -> tuple[int, datetime.date | None]:
    """Store the rates of a file (text lines) in bulk, in one transaction: a rate already
    stored for a pair and date is replaced (a demo rate by the real one). Rows dated before
    ``since`` are skipped. ``source`` is recorded on every row (``ECB: `` first for the ECB's
    layout), with the time of the import.

    Idempotent: the same file twice leaves the same rows. Declarations held for a missing rate
    are assessed again after commit. Returns the rows stored and the newest date among them.
    """
    count = 0
    newest: datetime.date | None = None
    now = timezone.now()
    iterator = iter(lines)
    first = next(iterator, "")
    label = source
    if is_ecb_layout(next(csv.reader([first]), [])) and not source.startswith("ECB"):
        label = f"ECB: {source}"
    with transaction.atomic():
        batch: list[ExchangeRate] = []
        for rate in parse_exchange_rates(_chain(first, iterator), base=base):
            if since is not None and rate.date < since:
                continue
            rate.source = label[:300]
            rate.fetched_at = now
            newest = rate.date if newest is None or rate.date > newest else newest
            batch.append(rate)
            if len(batch) >= batch_size:
                count += _upsert(batch)
                batch = []
        count += _upsert(batch)
        if count:
            enqueue_on_commit(REASSESS_TASK)
    return count, newest


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def import_exchange_rates(path: Path, *, base: str = "EUR", batch_size: int = 5000) -> int:
    """Load a rates file in bulk (``rates_import``); returns the number of rows stored."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        count, _newest = rates_import(handle, source=path.name, base=base, batch_size=batch_size)
    return count


def _upsert(batch: list[ExchangeRate]) -> int:
    # One row per key: PostgreSQL refuses to update the same row twice in one statement.
    unique = {(r.base, r.currency, r.date): r for r in batch}
    if unique:
        ExchangeRate.objects.bulk_create(
            list(unique.values()),
            update_conflicts=True,
            unique_fields=["base", "currency", "date"],
            update_fields=["rate", "source", "fetched_at", "carried_from"],
        )
    return len(batch)


def demo_rates_carry_forward(today: datetime.date) -> int:
    """Repeat the newest published rates for every day since, up to ``today``, as demo rates
    (``carried_from`` set), so that a demo on a closed network assesses today's parcels.

    Only with DEBUG on: a real portal never invents a rate (its parcels are held until one is
    published). Days that already have a rate are left as they are; a real rate arriving later
    replaces the demo one. Returns how many demo rates it stored.
    """
    if not settings.DEBUG:
        return 0
    newest = ExchangeRate.objects.filter(carried_from__isnull=True, date__lte=today).aggregate(
        newest=Max("date")
    )["newest"]
    if newest is None or newest >= today:
        return 0
    published = list(ExchangeRate.objects.filter(carried_from__isnull=True, date=newest))
    now = timezone.now()
    days = (today - newest).days
    rows = [
        ExchangeRate(
            date=newest + datetime.timedelta(days=n),
            base=rate.base,
            currency=rate.currency,
            rate=rate.rate,
            source=rate.source,
            fetched_at=now,
            carried_from=newest,
        )
        for n in range(1, days + 1)
        for rate in published
    ]
    with transaction.atomic():
        created = ExchangeRate.objects.bulk_create(rows, ignore_conflicts=True, batch_size=5000)
        enqueue_on_commit(REASSESS_TASK)
    return len(created)


# --- Demo data ---------------------------------------------------------------------------

DEMO_TARIFF_FILE = DATA_DIR / "tariff-demo.csv"


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


# --- Assessing a parcel with what is in force -------------------------------------------


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
        self, parcel: assessment.ParcelInput, earlier: Sequence[assessment.EarlierParcel] = ()
    ) -> assessment.AssessmentResult:
        if self.rules is None:
            reason = _("No low-value regime for %(code)s is in force on %(date)s.") % {
                "code": self.code,
                "date": parcel.date.isoformat(),
            }
            return assessment.held(
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
            assessment.Reason(
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
    parcel: assessment.ParcelInput,
    *,
    regime_code: str | None = None,
    earlier: Sequence[assessment.EarlierParcel] = (),
) -> assessment.AssessmentResult:
    """Assess ``parcel`` under the regime, tariff and exchange rates in force on its date.

    ``regime_code`` is an ISO 3166 alpha-2 code; by default the portal's own economy.
    """
    return ParcelAssessor(parcel.date, regime_code).assess(parcel, earlier)
