"""Writes for declarations (the reads and the shapes of answers are ``selectors``).

Each service owns its transaction, checks the filing rules (``declarations.validation``),
writes the history rows with the acting user or API key in the same transaction, and records
every status move as a ``StatusChange``. Many declarations are written in sets (one
``bulk_create`` per table), whether they come one at a time or a thousand in a batch.
"""

import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from clearance import bulk, regimes
from clearance.actors import Actor
from clearance.assessment_types import AssessmentResult
from clearance.errors import FieldError, Invalid, ServiceError
from clearance.models import Organisation
from clearance.queue import enqueue_on_commit
from clearance.uploads import check_upload
from clearance.workflow import lock_row, lock_rows
from declarations import events, selectors, validation
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
from declarations.selectors import declaration_data
from declarations.validation import Cleaned

# --- Row locks: only the rows' own table, always in primary-key order ----------------------


def lock(declaration_id: int) -> Declaration:
    """The one way to lock a declaration row before changing its status or contents."""
    return lock_row(Declaration.objects.all(), pk=declaration_id)


def lock_many(ids: Iterable[int]) -> "QuerySet[Declaration]":
    """Lock many declaration rows, always in pk order so two writers cannot deadlock."""
    return lock_rows(Declaration.objects.filter(pk__in=list(ids)))


def lock_held(*, after: int, limit: int) -> list[Declaration]:
    """Up to ``limit`` held declarations after primary key ``after``, locked, passing over
    those another transaction holds (an amendment in progress): any worker may sweep them."""
    held = Declaration.objects.filter(status=Status.HELD, pk__gt=after)
    return list(lock_rows(held, skip_locked=True)[:limit])


# --- Declarations: writing -----------------------------------------------------------------


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


@contextmanager
def _references_unique(error: FieldError) -> Iterator[None]:
    """Write in a savepoint; a reference another request took meanwhile (the unique constraint)
    is refused with ``error``, and the caller's transaction goes on."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError:
        raise Invalid([error], summary=validation.SUMMARY) from None


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
    outcomes, accepted = _check_items(items, submit)
    accepted = _drop_taken(organisation, accepted, outcomes)
    if accepted:
        declarations = _insert(organisation, [c for _i, c in accepted], submit, actor)
        for declaration, (index, _cleaned) in zip(declarations, accepted, strict=True):
            outcomes[index].declaration = declaration
    return outcomes


def _check_items(
    items: Sequence[Any], submit: bool
) -> tuple[list[Outcome], list[tuple[int, Cleaned]]]:
    """Each item's outcome so far (its errors), and the items without errors by index; a
    reference used twice in the batch is an error of its second use."""
    outcomes: list[Outcome] = []
    accepted: list[tuple[int, Cleaned]] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        cleaned, errors = validation.check(item, complete=submit)
        ref = cleaned.header.get("reference", "")
        if ref and ref in seen:
            errors.append(validation.duplicate_reference(ref))
        seen.add(ref)
        outcomes.append(Outcome(errors=errors or None))
        if not errors:
            accepted.append((index, cleaned))
    return outcomes, accepted


def _drop_taken(
    organisation: Organisation, accepted: list[tuple[int, Cleaned]], outcomes: list[Outcome]
) -> list[tuple[int, Cleaned]]:
    """The accepted items whose reference the organisation has not used; the others are
    refused in their outcomes."""
    taken = selectors.references_taken(
        organisation.pk, [c.header["reference"] for _i, c in accepted]
    )
    for index, cleaned in accepted:
        if cleaned.header["reference"] in taken:
            outcomes[index].errors = [validation.duplicate_reference(cleaned.header["reference"])]
    return [(i, c) for i, c in accepted if c.header["reference"] not in taken]


def _insert(
    organisation: Organisation, items: Sequence[Cleaned], submit: bool, actor: Actor
) -> list[Declaration]:
    """Save checked declarations with their lines, history and status changes (and, when
    ``submit``, their first versions, queued for scoring after commit), a table at a time."""
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
        for cleaned, ref in zip(items, _system_references(len(items)), strict=True)
    ]
    pairs = [
        (declaration, _lines(declaration, cleaned))
        for declaration, cleaned in zip(declarations, items, strict=True)
    ]
    changes = [_change(d, "", Status.DRAFT, actor, now) for d in declarations]
    versions: list[DeclarationVersion] = []
    with transaction.atomic():
        if submit:
            versions, submitted = _freeze(pairs, actor, now)
            changes += submitted
        with _references_unique(validation.duplicate_reference()):
            bulk_create_with_history(
                declarations,
                Declaration,
                default_user=actor.user,
                default_date=now,
                custom_historical_attrs=actor.history(),
            )
        Line.objects.bulk_create([line for _d, lines in pairs for line in lines], batch_size=3000)
        events.save_changes(changes)
        DeclarationVersion.objects.bulk_create(versions, batch_size=1000)
        if submit:
            queue_scoring([d.pk for d in declarations if d.status == Status.SUBMITTED])
    return declarations


def declaration_create(
    *, organisation: Organisation, data: Any, submit: bool, actor: Actor
) -> Declaration:
    [outcome] = declarations_create(
        organisation=organisation, items=[data], submit=submit, actor=actor
    )
    if outcome.errors:
        raise Invalid(outcome.errors, summary=validation.SUMMARY)
    assert outcome.declaration is not None
    return outcome.declaration


def _replace_lines(declaration: Declaration, cleaned: Cleaned) -> list[Line]:
    declaration.lines.all().delete()
    return Line.objects.bulk_create(_lines(declaration, cleaned))


def _set_header(declaration: Declaration, cleaned: Cleaned) -> None:
    for name, value in cleaned.header.items():
        setattr(declaration, name, value)


def _save_header(declaration: Declaration, actor: Actor) -> None:
    with _references_unique(validation.duplicate_reference(declaration.reference)):
        actor.stamp(declaration).save()


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
    """The filer withdraws a declaration before a decision, whatever step it has reached."""
    return declaration_transition(
        declaration=declaration,
        to=Status.CANCELLED,
        actor=actor,
        note=note,
        leaving=(Status.DRAFT, *OPEN_STATUSES),
    )


def declaration_transition(
    *,
    declaration: Declaration,
    leaving: str | Collection[str],
    to: str,
    actor: Actor,
    note: str = "",
    lane: str | None = None,
) -> Declaration:
    """Move a declaration to another status through the one guard, with its status change.

    ``leaving`` is the status (or statuses) the caller decided the move from: a declaration
    that has moved elsewhere since is refused (``clearance.workflow.Workflow.check``).

    Risk scoring and officer review move declarations with this service. Release is not a move
    this service makes: goods leave only through ``clearance.review.release``, which checks that the
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
        check_transition(locked.status, to, leaving=leaving)
        previous = locked.status
        locked.status = to
        locked.updated_at = now
        if lane is not None:
            locked.lane = lane
        if to == Status.CANCELLED:
            locked.cancelled_at = now
        actor.stamp(locked).save()
        events.save_changes([_change(locked, previous, to, actor, now, note)])
    return locked


class Move(NamedTuple):
    """One declaration's move in ``declarations_move``: where it is, and where it goes."""

    declaration_id: int
    status: str  # its status now, read under the caller's lock: the status the move leaves
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
        check_transition(move.status, move.to, leaving=move.status)
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
    events.insert_moves(
        [events.Moved(m.declaration_id, m.status, m.to, m.version or None) for m in moves],
        at=at,
        user_id=user_id,
        key_id=key_id,
        note=note,
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


def _freeze_one(
    declaration: Declaration,
    lines: Sequence[Line],
    result: AssessmentResult,
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
    for (declaration, lines), result in zip(
        pairs, selectors.assessments(pairs, assessor), strict=True
    ):
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
    events.save_changes(changes)
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
        held = lock_held(after=after, limit=limit)
        if not held:
            return 0, None
        versions: list[DeclarationVersion] = []
        changes: list[StatusChange] = []
        for day, declarations in selectors.by_assessment_day(held).items():
            for version, change in _reassess_on(day, declarations, now):
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
        events.save_changes(changes)
        queue_scoring([d.pk for d in moved])
    return len(moved), held[-1].pk


def _reassess_on(
    day: date, declarations: Sequence[Declaration], now: Any
) -> Iterator[tuple[DeclarationVersion, StatusChange]]:
    """The next version and status change of each held declaration that can now be assessed
    on ``day``; those whose rate is still missing are passed over without loading their lines."""
    assessor = regimes.ParcelAssessor(day)
    ready = [d for d in declarations if assessor.can_assess(d.currency)]
    lines = selectors.lines_of(ready)
    pairs = [(d, lines[d.pk]) for d in ready]
    for (declaration, its_lines), result in zip(
        pairs, selectors.assessments(pairs, assessor), strict=True
    ):
        if not result.held:
            yield _freeze_one(
                declaration,
                its_lines,
                result,
                Actor(),
                now,
                _("Assessed: what it waited for is in force."),
            )


# Declarations per scoring task: big enough that a task's fixed costs (the rules, the regime,
# a commit) are shared by many, small enough that several workers share a large batch.
SCORING_CHUNK = 1000


def queue_scoring(ids: Sequence[int]) -> None:
    """After commit (at once outside a transaction), send the submitted declarations to risk
    scoring, by task name: this app knows nothing of risk. Big sets go in chunks so several
    workers share them."""
    for start in range(0, len(ids), SCORING_CHUNK):
        enqueue_on_commit("clearance.score_declarations", list(ids[start : start + SCORING_CHUNK]))


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
