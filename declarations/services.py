"""Writes for declarations and API keys.

Each service owns its transaction, checks the filing rules (``declarations.validation``),
writes the history rows with the acting user or API key in the same transaction, and records
every status move as a ``StatusChange``. Many declarations are written in sets (one
``bulk_create`` per table), whether they come one at a time or a thousand in a batch.
"""

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from functools import partial
from typing import Any, NamedTuple

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from clearance import assessment, bulk, reference, regimes
from clearance.actors import Actor
from clearance.errors import FieldError, Invalid, ServiceError
from clearance.models import Organisation
from clearance.uploads import check_upload
from declarations import validation
from declarations.models import (
    OPEN_STATUSES,
    Declaration,
    DeclarationVersion,
    Document,
    Line,
    Status,
    StatusChange,
    check_transition,
)
from declarations.validation import Cleaned

# --- Declarations: reading -----------------------------------------------------------------


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


def declaration_data(declaration: Declaration, lines: Sequence[Line]) -> dict[str, Any]:
    """The declaration in the API's shape, money as strings with the currency's decimals."""
    d = declaration
    places = currency_places(d.currency)
    return {
        "reference": d.reference,
        "transport_mode": d.transport_mode,
        "transport_document": d.transport_document,
        "carrier": d.carrier,
        "marketplace": d.marketplace,
        "order_reference": d.order_reference,
        "purpose": d.purpose,
        "seller": {"name": d.seller_name, "address": d.seller_address, "country": d.seller_country},
        "consignee": {
            "name": d.consignee_name,
            "address": d.consignee_address,
            "country": d.consignee_country,
            "id_number": d.consignee_id_number,
        },
        "arrival_office": d.arrival_office,
        "currency": d.currency,
        "shipping_cost": machine_amount(d.shipping_cost, places),
        "insurance_cost": machine_amount(d.insurance_cost, places),
        "tax_collected_at_sale": d.tax_collected_at_sale,
        "vendor_tax_id": d.vendor_tax_id,
        "lines": [
            {
                "description": line.description,
                "hs_code": line.hs_code,
                "quantity": _number(line.quantity),
                "unit": line.unit,
                "value": machine_amount(line.value, places),
                "origin_country": line.origin_country,
                "gross_mass_kg": _number(line.gross_mass_kg),
                "product_url": line.product_url,
            }
            for line in lines
        ],
    }


# --- Declarations: writing -----------------------------------------------------------------


def lock(declaration_id: int) -> Declaration:
    """The one way to lock a declaration row before changing its status or contents."""
    return Declaration.objects.select_for_update(of=("self",)).get(pk=declaration_id)


def _system_references(count: int) -> list[str]:
    """Readable, never reused references (``LV-2026-0000123``) from one database sequence."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval('declarations_system_reference_seq') FROM generate_series(1, %s)",
            [count],
        )
        numbers = [row[0] for row in cursor.fetchall()]
    year = timezone.localdate().year
    return [f"LV-{year}-{n:07d}" for n in numbers]


def _lines(declaration: Declaration, cleaned: Cleaned) -> list[Line]:
    return [Line(declaration=declaration, **values) for values in cleaned.lines]


def _change(
    declaration: Declaration,
    from_status: str,
    to_status: str,
    actor: Actor,
    at: Any,
    note: str = "",
) -> StatusChange:
    return StatusChange(
        declaration=declaration,
        from_status=from_status,
        to_status=to_status,
        at=at,
        by=actor.user,
        by_key=actor.api_key,
        version=declaration.version or None,
        note=note,
    )


def _duplicate_reference(reference: str) -> FieldError:
    return FieldError(
        "reference",
        "duplicate",
        _("Your organisation already has a declaration with reference %(ref)s.")
        % {"ref": reference},
    )


@dataclass
class Outcome:
    """One item of a batch: the declaration made, or the errors that refused it."""

    declaration: Declaration | None = None
    errors: list[FieldError] | None = None


def declarations_create(
    *,
    organisation: Organisation,
    items: Sequence[Any],
    submit: bool,
    actor: Actor,
) -> list[Outcome]:
    """Create declarations from API-shaped items, as drafts or submitted at once.

    Items that break a rule are reported with their errors and the others are saved, all in
    one transaction: tables are written in sets, so a batch of a thousand costs a handful of
    queries per table.
    """
    outcomes: list[Outcome] = []
    accepted: list[tuple[int, Cleaned]] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        cleaned, errors = validation.check(item, complete=submit)
        ref = cleaned.header.get("reference", "")
        if ref and ref in seen:
            errors.append(_duplicate_reference(ref))
        seen.add(ref)
        outcomes.append(Outcome(errors=errors or None))
        if not errors:
            accepted.append((index, cleaned))
    taken = set(
        Declaration.objects.filter(
            organisation=organisation, reference__in=[c.header["reference"] for _i, c in accepted]
        ).values_list("reference", flat=True)
    )
    if taken:
        for index, cleaned in accepted:
            if cleaned.header["reference"] in taken:
                outcomes[index].errors = [_duplicate_reference(cleaned.header["reference"])]
        accepted = [(i, c) for i, c in accepted if c.header["reference"] not in taken]
    if not accepted:
        return outcomes

    now = timezone.now()
    declarations = [
        Declaration(
            organisation=organisation,
            system_reference=ref,
            created_at=now,
            updated_at=now,
            created_by=actor.user,
            created_by_key=actor.api_key,
            **cleaned.header,
        )
        for (_i, cleaned), ref in zip(accepted, _system_references(len(accepted)), strict=True)
    ]
    pairs = [
        (declaration, _lines(declaration, cleaned))
        for declaration, (_i, cleaned) in zip(declarations, accepted, strict=True)
    ]
    changes = [_change(d, "", Status.DRAFT, actor, now) for d in declarations]
    versions: list[DeclarationVersion] = []
    with transaction.atomic():
        if submit:
            versions, submitted = _freeze(pairs, actor, now)
            changes += submitted
        try:
            with transaction.atomic():
                bulk_create_with_history(
                    declarations,
                    Declaration,
                    default_user=actor.user,
                    default_date=now,
                    custom_historical_attrs=actor.history(),
                )
        except IntegrityError:
            # A concurrent request took one of these references between the check and here.
            raise Invalid(
                [
                    FieldError(
                        "reference",
                        "duplicate",
                        _("One of these references was just used by another request."),
                    )
                ]
            ) from None
        Line.objects.bulk_create([line for _d, lines in pairs for line in lines], batch_size=3000)
        StatusChange.objects.bulk_create(changes, batch_size=3000)
        DeclarationVersion.objects.bulk_create(versions, batch_size=1000)
        if submit:
            queue_scoring([d.pk for d in declarations if d.status == Status.SUBMITTED])
    for declaration, (index, _cleaned) in zip(declarations, accepted, strict=True):
        outcomes[index].declaration = declaration
    return outcomes


def declaration_create(
    *, organisation: Organisation, data: Any, submit: bool, actor: Actor
) -> Declaration:
    [outcome] = declarations_create(
        organisation=organisation, items=[data], submit=submit, actor=actor
    )
    if outcome.errors:
        raise Invalid(outcome.errors)
    assert outcome.declaration is not None
    return outcome.declaration


def _replace_lines(declaration: Declaration, cleaned: Cleaned) -> list[Line]:
    declaration.lines.all().delete()
    return Line.objects.bulk_create(_lines(declaration, cleaned))


def _set_header(declaration: Declaration, cleaned: Cleaned) -> None:
    for name, value in cleaned.header.items():
        setattr(declaration, name, value)


def _save_header(declaration: Declaration, actor: Actor) -> None:
    try:
        with transaction.atomic():
            actor.stamp(declaration).save()
    except IntegrityError:
        raise Invalid([_duplicate_reference(declaration.reference)]) from None


def declaration_update(
    *, declaration: Declaration, data: Mapping[str, Any], actor: Actor
) -> Declaration:
    """Change a draft. Whatever is given must be right; what is missing can come later."""
    cleaned = validation.clean(data, complete=False)
    with transaction.atomic():
        locked = lock(declaration.pk)
        if locked.status != Status.DRAFT:
            raise ServiceError(
                _("Only a draft can be edited; amend a submitted declaration instead."),
                field="status",
                code="not_draft",
            )
        _set_header(locked, cleaned)
        locked.updated_at = timezone.now()
        _save_header(locked, actor)
        _replace_lines(locked, cleaned)
    return locked


def declaration_submit(*, declaration: Declaration, actor: Actor) -> Declaration:
    """Submit a draft: check it is complete, freeze version 1 and assess it."""
    with transaction.atomic():
        locked = lock(declaration.pk)
        check_transition(locked.status, Status.SUBMITTED)
        if locked.status != Status.DRAFT:
            raise ServiceError(
                _("This declaration is already submitted; amend it instead."),
                field="status",
                code="not_draft",
            )
        lines = list(locked.lines.order_by("number"))
        validation.clean(declaration_data(locked, lines), complete=True)
        _submit_one(locked, lines, actor, timezone.now())
    return locked


def declaration_amend(
    *, declaration: Declaration, data: Mapping[str, Any], actor: Actor
) -> Declaration:
    """Change a submitted declaration before a decision: the next version, assessed anew."""
    cleaned = validation.clean(data, complete=True)
    with transaction.atomic():
        locked = lock(declaration.pk)
        if locked.status not in OPEN_STATUSES:
            raise ServiceError(
                _("Only a submitted declaration that has not been decided can be amended."),
                field="status",
                code="not_amendable",
            )
        check_transition(locked.status, Status.SUBMITTED)
        _set_header(locked, cleaned)
        lines = _replace_lines(locked, cleaned)
        _submit_one(locked, lines, actor, timezone.now(), note=_("Amended"))
    return locked


def declaration_cancel(*, declaration: Declaration, actor: Actor, note: str = "") -> Declaration:
    """The filer withdraws a declaration before release."""
    return declaration_transition(
        declaration=declaration, to=Status.CANCELLED, actor=actor, note=note
    )


def declaration_transition(
    *,
    declaration: Declaration,
    to: str,
    actor: Actor,
    note: str = "",
    lane: str | None = None,
) -> Declaration:
    """Move a declaration to another status through the one guard, with its status change.

    Risk scoring and officer review move declarations with this service. Release is not a move
    this service makes: goods leave only through ``clearance.release``, which checks that the
    declaration is assessed and scored, issues the release notice and tells the filer.
    """
    if to == Status.RELEASED:
        raise ServiceError(
            _("Goods are released only by the release service, which checks the assessment."),
            field="status",
            code="invalid_transition",
        )
    now = timezone.now()
    with transaction.atomic():
        locked = lock(declaration.pk)
        check_transition(locked.status, to)
        previous = locked.status
        locked.status = to
        locked.updated_at = now
        if lane is not None:
            locked.lane = lane
        if to == Status.CANCELLED:
            locked.cancelled_at = now
        actor.stamp(locked).save()
        _change(locked, previous, to, actor, now, note).save()
    return locked


def lock_many(ids: Iterable[int]) -> "QuerySet[Declaration]":
    """Lock many declaration rows, always in pk order so two writers cannot deadlock."""
    return (
        Declaration.objects.select_for_update(of=("self",)).filter(pk__in=list(ids)).order_by("pk")
    )


class Move(NamedTuple):
    """One declaration's move in ``declarations_move``: where it is, and where it goes."""

    declaration_id: int
    status: str  # its status now
    version: int
    to: str
    lane: str | None = None


def declarations_move(*, moves: Sequence[Move], actor: Actor, at: Any, note: str = "") -> None:
    """``declaration_transition`` for many declarations the caller has locked (``lock_many``),
    each to its own status and lane: the same guard, a history row and a status change each,
    written in sets by the database (one statement moves them and writes their history rows,
    one writes their status changes: see ``clearance.bulk``). Takes plain values, not model
    instances: risk scoring moves thousands a second."""
    for move in moves:
        check_transition(move.status, move.to)
    user_id = actor.user.pk if actor.user else None
    key_id = actor.api_key.pk if actor.api_key else None
    bulk.update_rows(
        Declaration,
        ("id", "status", "lane", "updated_at", "released_at"),
        (
            (m.declaration_id, m.to, m.lane, at, at if m.to == Status.RELEASED else None)
            for m in sorted(moves)
        ),
        history=bulk.History(at=at, user_id=user_id, api_key_id=key_id),
    )
    bulk.insert_rows(
        StatusChange,
        STATUS_CHANGE_FIELDS,
        (
            (m.declaration_id, m.status, m.to, at, user_id, key_id, m.version or None, note)
            for m in moves
        ),
    )


STATUS_CHANGE_FIELDS = (
    "declaration",
    "from_status",
    "to_status",
    "at",
    "by",
    "by_key",
    "version",
    "note",
)


def declaration_copy(*, source: Declaration, actor: Actor) -> Declaration:
    """A new draft with the contents of an earlier declaration and a reference of its own."""
    lines = list(source.lines.order_by("number"))
    data = declaration_data(source, lines)
    base = f"{source.reference[:28]}-C"
    used = set(
        Declaration.objects.filter(
            organisation_id=source.organisation_id, reference__startswith=base
        ).values_list("reference", flat=True)
    )
    n = 1
    while f"{base}{n}" in used:
        n += 1
    data["reference"] = f"{base}{n}"
    organisation = Organisation.objects.get(pk=source.organisation_id)
    return declaration_create(organisation=organisation, data=data, submit=False, actor=actor)


# --- Submission: freeze, assess, queue -----------------------------------------------------


def _consignee_key(declaration: Declaration) -> str:
    return (declaration.consignee_id_number or declaration.consignee_name).strip().lower()


def _earlier_parcels(
    declarations: Sequence[Declaration], since: date | None
) -> dict[str, list[assessment.EarlierParcel]]:
    """Parcels already filed for the same consignees since ``since`` (the start of the
    longest period the regime's aggregation rules look at: a day, a half-year, a year), for
    the rules on split shipments and caps per period: one query for the whole set. None (no
    aggregation rule in force) asks nothing."""
    found: dict[str, list[assessment.EarlierParcel]] = {}
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
        key = (id_number or name).strip().lower()
        found.setdefault(key, []).append(
            assessment.EarlierParcel(
                date=timezone.localdate(created_at), customs_value=customs_value
            )
        )
    return found


def _parcel(declaration: Declaration, lines: Sequence[Line], on: date) -> assessment.ParcelInput:
    d = declaration
    return assessment.ParcelInput(
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
            assessment.LineInput(
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


def _assess(
    pairs: Sequence[tuple[Declaration, Sequence[Line]]], assessor: regimes.ParcelAssessor
) -> list[assessment.AssessmentResult]:
    """Each parcel's assessment on the assessor's day; a parcel counts as an earlier one for
    the same consignee's next parcels in the set."""
    earlier = _earlier_parcels([d for d, _lines in pairs], assessor.aggregation_since)
    results = []
    for declaration, lines in pairs:
        key = _consignee_key(declaration)
        result = assessor.assess(_parcel(declaration, lines, assessor.on), earlier.get(key, []))
        results.append(result)
        earlier.setdefault(key, []).append(
            assessment.EarlierParcel(date=assessor.on, customs_value=result.customs_value)
        )
    return results


def _freeze_one(
    declaration: Declaration,
    lines: Sequence[Line],
    result: assessment.AssessmentResult,
    actor: Actor,
    now: Any,
    note: str = "",
) -> tuple[DeclarationVersion, StatusChange]:
    """The next version of a declaration with its assessment, and its move to ``submitted``
    (or ``held``, when it could not be assessed); the caller saves them with the declaration.

    The version's assessment is stored once and never recomputed: re-reading it later gives
    the answer the filer saw.
    """
    previous = declaration.status
    target = Status.HELD if result.held else Status.SUBMITTED
    check_transition(previous, target)
    declaration.version += 1
    declaration.status = target
    declaration.lane = ""
    declaration.updated_at = now
    if declaration.submitted_at is None:
        declaration.submitted_at = now
    version = DeclarationVersion(
        declaration=declaration,
        number=declaration.version,
        data=declaration_data(declaration, lines),
        assessment=result.to_dict(),
        customs_value=result.customs_value,
        total_due=result.total_due,
        assessment_currency=result.currency,
        eligible=result.eligible,
        held=result.held,
        created_at=now,
        created_by=actor.user,
        created_by_key=actor.api_key,
    )
    if result.held:
        note = (f"{note} " if note else "") + result.hold_reason
    return version, _change(declaration, previous, target, actor, now, note[:500])


def _freeze(
    pairs: Sequence[tuple[Declaration, Sequence[Line]]],
    actor: Actor,
    now: Any,
    note: str = "",
) -> tuple[list[DeclarationVersion], list[StatusChange]]:
    """Freeze and assess each declaration (``_freeze_one``) on today's date.

    Submitted declarations stay ``submitted`` here; the caller queues the clearance pipeline
    (risk scoring, then release or review) after commit with ``queue_scoring``. Held ones
    wait for ``held_reassess``.
    """
    assessor = regimes.ParcelAssessor(timezone.localdate(now))
    versions: list[DeclarationVersion] = []
    changes: list[StatusChange] = []
    for (declaration, lines), result in zip(pairs, _assess(pairs, assessor), strict=True):
        version, change = _freeze_one(declaration, lines, result, actor, now, note)
        versions.append(version)
        changes.append(change)
    return versions, changes


def _submit_one(
    declaration: Declaration, lines: Sequence[Line], actor: Actor, now: Any, note: str = ""
) -> None:
    versions, changes = _freeze([(declaration, lines)], actor, now, note)
    _save_header(declaration, actor)
    DeclarationVersion.objects.bulk_create(versions)
    StatusChange.objects.bulk_create(changes)
    queue_scoring([declaration.pk] if declaration.status == Status.SUBMITTED else [])


def held_reassess(*, after: int = 0, limit: int = 1000) -> tuple[int, int | None]:
    """Assess again the held declarations after primary key ``after`` (up to ``limit``), each
    on the day it was submitted (the rate and regime of that day apply, whenever they arrive).
    Those that can now be assessed get their next version, with the same data and the new
    assessment, move to ``submitted`` as the system, and go to risk scoring after commit.

    Declarations another transaction holds (an amendment in progress) are skipped, as are
    those whose rates are still missing, without loading their lines. Returns how many moved
    on, and the last primary key looked at (None when there were none), for the next call.
    """
    now = timezone.now()
    with transaction.atomic():
        held = list(
            Declaration.objects.select_for_update(of=("self",), skip_locked=True)
            .filter(status=Status.HELD, pk__gt=after)
            .order_by("pk")[:limit]
        )
        if not held:
            return 0, None
        days = dict(
            DeclarationVersion.objects.filter(
                declaration__in=held, number=F("declaration__version")
            ).values_list("declaration_id", "assessment__date")
        )
        by_day: dict[date, list[Declaration]] = {}
        for declaration in held:
            day = date.fromisoformat(days[declaration.pk])
            by_day.setdefault(day, []).append(declaration)
        versions: list[DeclarationVersion] = []
        changes: list[StatusChange] = []
        for day, declarations in by_day.items():
            assessor = regimes.ParcelAssessor(day)
            ready = [d for d in declarations if assessor.can_assess(d.currency)]
            lines: dict[int, list[Line]] = {d.pk: [] for d in ready}
            for line in Line.objects.filter(declaration__in=ready).order_by(
                "declaration_id", "number"
            ):
                lines[line.declaration_id].append(line)
            pairs = [(d, lines[d.pk]) for d in ready]
            for (declaration, its_lines), result in zip(
                pairs, _assess(pairs, assessor), strict=True
            ):
                if result.held:
                    continue
                version, change = _freeze_one(
                    declaration,
                    its_lines,
                    result,
                    Actor(),
                    now,
                    _("Assessed: what it waited for is in force."),
                )
                versions.append(version)
                changes.append(change)
        moved = [v.declaration for v in versions]
        bulk.update_rows(
            Declaration,
            ("id", "status", "version", "updated_at"),
            ((d.pk, d.status, d.version, now) for d in moved),
            history=bulk.History(at=now, user_id=None),
        )
        DeclarationVersion.objects.bulk_create(versions)
        StatusChange.objects.bulk_create(changes)
        queue_scoring([d.pk for d in moved])
    return len(moved), held[-1].pk


# Declarations per scoring task: big enough that a task's fixed costs (the rules, the regime,
# a commit) are shared by many, small enough that several workers share a large batch.
SCORING_CHUNK = 1000


def queue_scoring(ids: Sequence[int]) -> None:
    """After commit (at once outside a transaction), send the submitted declarations to risk
    scoring, by task name: this app knows nothing of risk. Big sets go in chunks so several
    workers share them."""
    from celery import current_app

    chunks = [list(ids[i : i + SCORING_CHUNK]) for i in range(0, len(ids), SCORING_CHUNK)]
    for chunk in chunks:
        transaction.on_commit(
            partial(current_app.send_task, "clearance.score_declarations", args=[chunk])
        )


# --- Documents -----------------------------------------------------------------------------


def document_add(*, declaration: Declaration, kind: str, upload: Any, actor: Actor) -> Document:
    """Store an invoice or photo under a generated name, after checking its size and type."""
    found = check_upload(upload, field="file", max_bytes=Document.MAX_BYTES)
    if kind not in Document.Kind.values:
        raise ServiceError(_("Choose a kind of document."), field="kind")
    original = str(upload.name or "document").replace("\\", "/").rsplit("/", 1)[-1][:200]
    document = Document(
        declaration=declaration,
        kind=kind,
        original_name=original,
        content_type=Document.CONTENT_TYPES[found],
        size=upload.size,
        uploaded_by=actor.user,
        uploaded_by_key=actor.api_key,
    )
    with transaction.atomic():
        document.file.save(f"{uuid.uuid4().hex}.{found}", upload, save=False)
        actor.stamp(document).save()
    return document
