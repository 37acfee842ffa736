"""Exchange rates: the rate in force on a day, importing rate files (the ECB's and an
administration's own), and demo rates carried forward on a closed network.

Writes own their transaction; declarations held for a missing rate are assessed again after
commit.
"""

import csv
import datetime
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from clearance.errors import ServiceError
from clearance.models import ExchangeRate
from clearance.queue import enqueue_on_commit
from clearance.reference import DATA_DIR, currency_exists
from clearance.regime_rules import REASSESS_TASK, regime_in_force

# How long a rate stays in force where no regime says (``Regime.exchange_rate_days`` does for
# every assessment): a week, which covers a daily publisher's weekends and holidays.
DEFAULT_RATE_DAYS = 7

ECB_DEMO_FILE = DATA_DIR / "ecb-eurofxref-hist.csv"

# --- The rate in force -------------------------------------------------------------------


@dataclass(frozen=True)
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


# --- Demo rates --------------------------------------------------------------------------


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
