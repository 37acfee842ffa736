"""Reads for declarations: lookups and the shapes answers are given in. Nothing here writes;
the writes are ``declarations.services``."""

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.db.models import F, Q
from django.utils import timezone

from clearance import reference, regimes
from clearance.assessment_types import AssessmentResult, EarlierParcel, LineInput, ParcelInput
from declarations.models import Declaration, DeclarationVersion, Line, Status
from declarations.validation import HEADER_FIELDS, HEADER_MONEY, LINE_FIELDS, header_data

# --- Shapes --------------------------------------------------------------------------------


def machine_amount(value: Decimal | None, places: int | None) -> str | None:
    """An amount as the API and CSV write it: the currency's decimals, no grouping."""
    if value is None:
        return None
    if places is None:
        return str(value.normalize())
    return str(value.quantize(Decimal(1).scaleb(-places)))


def _number(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.normalize():f}"


def currency_places(code: str) -> int | None:
    return reference.currency_decimals(code) if reference.currency_exists(code) else None


def _line_data(line: Line, places: int | None) -> dict[str, Any]:
    data = {name: getattr(line, name) for name in LINE_FIELDS}
    data["quantity"] = _number(line.quantity)
    data["value"] = machine_amount(line.value, places)
    data["gross_mass_kg"] = _number(line.gross_mass_kg)
    return data


def declaration_data(declaration: Declaration, lines: Sequence[Line]) -> dict[str, Any]:
    """The declaration in the API's shape, money as strings with the currency's decimals."""
    places = currency_places(declaration.currency)
    values = {name: getattr(declaration, name) for name in HEADER_FIELDS}
    for name in HEADER_MONEY:
        values[name] = machine_amount(values[name], places)
    return {**header_data(values), "lines": [_line_data(line, places) for line in lines]}


# --- Lookups -------------------------------------------------------------------------------


def references_taken(organisation_id: int, references: Iterable[str]) -> set[str]:
    """Those of ``references`` the organisation has already used, in one query."""
    return set(
        Declaration.objects.filter(
            organisation_id=organisation_id, reference__in=list(references)
        ).values_list("reference", flat=True)
    )


def lines_of(declarations: Sequence[Declaration]) -> dict[int, list[Line]]:
    """Each declaration's lines in order, in one query."""
    found: dict[int, list[Line]] = {d.pk: [] for d in declarations}
    for line in Line.objects.filter(declaration__in=declarations).order_by(
        "declaration_id", "number"
    ):
        found[line.declaration_id].append(line)
    return found


def by_assessment_day(declarations: Sequence[Declaration]) -> dict[date, list[Declaration]]:
    """The declarations by the day their latest version was assessed on, in one query."""
    days = dict(
        DeclarationVersion.objects.filter(
            declaration__in=declarations, number=F("declaration__version")
        ).values_list("declaration_id", "assessment__date")
    )
    found: dict[date, list[Declaration]] = {}
    for declaration in declarations:
        found.setdefault(date.fromisoformat(days[declaration.pk]), []).append(declaration)
    return found


# --- Assessment ----------------------------------------------------------------------------


def assessments(
    pairs: Sequence[tuple[Declaration, Sequence[Line]]], assessor: regimes.ParcelAssessor
) -> list[AssessmentResult]:
    """Each parcel's assessment on the assessor's day; a parcel counts as an earlier one for
    the same consignee's next parcels in the set. Nothing is saved."""
    earlier = _earlier_parcels([d for d, _lines in pairs], assessor.aggregation_since)
    results = []
    for declaration, lines in pairs:
        key = _consignee_of(declaration)
        result = assessor.assess(_parcel(declaration, lines, assessor.on), earlier.get(key, []))
        results.append(result)
        earlier.setdefault(key, []).append(
            EarlierParcel(date=assessor.on, customs_value=result.customs_value)
        )
    return results


def _consignee_key(id_number: str, name: str) -> str:
    return (id_number or name).strip().lower()


def _consignee_of(declaration: Declaration) -> str:
    """Who a parcel goes to, as the rules on earlier parcels match them."""
    return _consignee_key(declaration.consignee_id_number, declaration.consignee_name)


def _parcel(declaration: Declaration, lines: Sequence[Line], on: date) -> ParcelInput:
    """A declaration as the assessment reads it, on the day ``on``."""
    d = declaration
    return ParcelInput(
        date=on,
        transport_mode=d.transport_mode,
        purpose=d.purpose,
        currency=d.currency,
        shipping_cost=d.shipping_cost,
        insurance_cost=d.insurance_cost,
        tax_collected_at_sale=d.tax_collected_at_sale,
        vendor_tax_id=d.vendor_tax_id,
        seller_country=d.seller_country,
        consignee_country=d.consignee_country,
        consignee_id=d.consignee_id_number or d.consignee_name,
        lines=tuple(
            LineInput(
                description=line.description,
                hs_code=line.hs_code,
                quantity=line.quantity or Decimal(0),
                value=line.value or Decimal(0),
                origin_country=line.origin_country,
                gross_mass_kg=line.gross_mass_kg,
            )
            for line in lines
        ),
    )


def _earlier_parcels(
    declarations: Sequence[Declaration], since: date | None
) -> dict[str, list[EarlierParcel]]:
    """Parcels already filed for the same consignees since ``since`` (the start of the
    longest period the regime's aggregation rules look at: a day, a half-year, a year), for
    the rules on split shipments and caps per period: one query for the whole set. None (no
    aggregation rule in force) asks nothing."""
    found: dict[str, list[EarlierParcel]] = {}
    if since is None:
        return found
    ids = {d.consignee_id_number for d in declarations if d.consignee_id_number}
    names = {d.consignee_name for d in declarations if not d.consignee_id_number}
    exclude = {d.pk for d in declarations if d.pk is not None}
    if not ids and not names:
        return found
    start = datetime.combine(since, time.min, tzinfo=timezone.get_current_timezone())
    rows = (
        DeclarationVersion.objects.filter(
            Q(declaration__consignee_id_number__in=ids) | Q(declaration__consignee_name__in=names),
            number=F("declaration__version"),
            created_at__gte=start,
        )
        .exclude(declaration_id__in=exclude)
        .exclude(declaration__status__in=[Status.CANCELLED, Status.REJECTED])
        .values_list(
            "declaration__consignee_id_number",
            "declaration__consignee_name",
            "created_at",
            "customs_value",
        )
    )
    for id_number, name, created_at, customs_value in rows:
        found.setdefault(_consignee_key(id_number, name), []).append(
            EarlierParcel(date=timezone.localdate(created_at), customs_value=customs_value)
        )
    return found
