"""The tariff: the duty rates in force by HS prefix, and importing them from a CSV file."""

import csv
import datetime
import io
import re
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from clearance.actors import stamped
from clearance.assessment_types import TariffLine
from clearance.errors import ServiceError
from clearance.models import TariffRate, User
from clearance.reference import DATA_DIR, countries

TARIFF_COLUMNS = ["economy", "hs_prefix", "rate", "specific_amount", "effective_from"]
DEMO_TARIFF_FILE = DATA_DIR / "tariff-demo.csv"


def tariff_in_force(economy: str, on: datetime.date) -> list[TariffLine]:
    """The newest tariff row in force per prefix for an economy on a date."""
    rows = (
        TariffRate.objects.filter(economy=economy, effective_from__lte=on)
        .exclude(effective_to__lt=on)
        .order_by("hs_prefix", "-effective_from")
        .distinct("hs_prefix")
    )
    return [TariffLine(r.hs_prefix, r.rate, r.specific_amount) for r in rows]


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
