"""Risk scoring on the database: the facts of many submitted declarations read in a few
queries, scored by the rules (``clearance.risk.rules``), each score stored with its hits (once
per version: a unique constraint), and the declarations moved on with the declarations
services: green with something due to awaiting payment, yellow and red to under review. What
goes to an officer or out of customs is handed on to officer review, in the same transaction,
with the ``declarations_scored`` signal (``clearance.risk.signals``): review opens the cases
and releases through its release service; this room needs no import of it.
"""

import contextlib
import datetime
import gc
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.postgres.aggregates import ArrayAgg
from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from clearance import bulk
from clearance.actors import Actor
from clearance.exchange_rates import DEFAULT_RATE_DAYS, rate_in_force
from clearance.models import Organisation
from clearance.queue import enqueue_on_commit
from clearance.regime_rules import regime_in_force, rules_of
from clearance.risk.models import (
    ReferencePrice,
    RiskLane,
    RiskRule,
    RiskScore,
    RiskSettings,
    RuleKind,
)
from clearance.risk.rules import (
    ZERO,
    Facts,
    LineFacts,
    Reference,
    Rule,
    Score,
    Thresholds,
    as_decimal,
    evaluate,
)
from clearance.risk.signals import Scored, declarations_scored
from clearance.workflow import lock_rows
from declarations.models import Declaration, Status
from declarations.services import Move, declarations_move, lock_many

# --- Loading from the database --------------------------------------------------------------


def rules_in_force(on: datetime.date) -> list[Rule]:
    return [
        Rule(id=r.pk, kind=r.kind, params=r.params, points=r.points, reason=r.reason_template)
        for r in RiskRule.objects.in_force(on).order_by("pk")
    ]


def thresholds() -> Thresholds:
    current = RiskSettings.current()
    return Thresholds(
        yellow_from=current.yellow_from,
        red_from=current.red_from,
        random_share=current.random_share,
    )


def references_for(
    hs6: Iterable[str], local: str, on: datetime.date, *, days: int = DEFAULT_RATE_DAYS
) -> dict[str, Reference]:
    """Reference prices converted to local currency at the rate in force (unknown rate: none)."""
    found: dict[str, Reference] = {}
    rates: dict[str, Decimal | None] = {local: Decimal(1)}
    for ref in ReferencePrice.objects.filter(hs6__in=set(hs6)):
        if ref.currency not in rates:
            rates[ref.currency] = rate_in_force(ref.currency, local, on, days=days)
        rate = rates[ref.currency]
        if rate is None:
            continue
        found[ref.hs6] = Reference(
            per_kg=None if ref.per_kg is None else ref.per_kg * rate,
            per_unit=None if ref.per_unit is None else ref.per_unit * rate,
            samples=ref.samples,
        )
    return found


def _consignee_key(id_number: str, name: str) -> str:
    return (id_number or name).strip().lower()


def _filer_positions(organisation_ids: set[int], first: int) -> dict[int, int]:
    """The position of each of these organisations' first ``first`` declarations, in one
    query: a short indexed read per organisation, however many it has filed since."""
    positions: dict[int, int] = {}
    if first <= 0 or not organisation_ids:
        return positions
    earliest = ArraySubquery(
        Declaration.objects.filter(organisation=OuterRef("pk"), submitted_at__isnull=False)
        .order_by("submitted_at", "pk")
        .values("pk")[:first]
    )
    for ids in (
        Organisation.objects.filter(pk__in=organisation_ids)
        .annotate(earliest=earliest)
        .values_list("earliest", flat=True)
    ):
        positions.update((pk, n) for n, pk in enumerate(ids, start=1))
    return positions


def _consignee_parcels(
    rows: Sequence[Mapping[str, Any]], days: int, now: datetime.datetime
) -> dict[str, list[tuple[int, datetime.datetime]]]:
    """Each consignee's parcels (declaration and submission time) in the ``days`` before the
    earliest of these submissions: what the split-shipment rules in force can look at. The
    database groups them, one row per consignee."""
    found: dict[str, list[tuple[int, datetime.datetime]]] = {}
    ids = {r["consignee_id_number"] for r in rows} - {""}
    names = {r["consignee_name"] for r in rows if not r["consignee_id_number"]}
    if days <= 0 or (not ids and not names):
        return found
    since = min(r["submitted_at"] or now for r in rows) - datetime.timedelta(days=days)
    grouped = (
        Declaration.objects.filter(
            Q(consignee_id_number__in=ids) | Q(consignee_name__in=names, consignee_id_number=""),
            submitted_at__gte=since,
        )
        .exclude(status__in=[Status.CANCELLED, Status.REJECTED, Status.DRAFT])
        .order_by()
        .values_list("consignee_id_number", "consignee_name")
        .annotate(pks=ArrayAgg("pk"), ats=ArrayAgg("submitted_at"))
    )
    for id_number, name, pks, ats in grouped:
        found.setdefault(_consignee_key(id_number, name), []).extend(zip(pks, ats, strict=True))
    return found


# What the rules need of a declaration and its latest version, read as plain values (no model
# instances: scoring reads thousands a second).
VERSION_VALUES = (
    "pk",
    "status",
    "version",
    "system_reference",
    "reference",
    "organisation_id",
    "organisation__name",
    "submitted_at",
    "seller_name",
    "seller_country",
    "consignee_id_number",
    "consignee_name",
    "marketplace",
    "versions__number",
    "versions__customs_value",
    "versions__held",
    "versions__total_due",
    "versions__data__lines",
    "versions__assessment__lines",
)


def version_rows(declarations: QuerySet[Declaration]) -> QuerySet[Declaration, dict[str, Any]]:
    """The ``VERSION_VALUES`` of these declarations' latest versions, one dict each (read from
    the declarations, so the database starts from their primary keys)."""
    rows: QuerySet[Declaration, dict[str, Any]]
    rows = declarations.filter(versions__number=F("version")).values(*VERSION_VALUES)
    return rows


def _line_facts(row: Mapping[str, Any]) -> tuple[LineFacts, ...]:
    values = [line.get("customs_value") for line in row["versions__assessment__lines"] or []]
    result = []
    for index, line in enumerate(row["versions__data__lines"] or []):
        value = values[index] if index < len(values) and values[index] is not None else "0"
        mass = line.get("gross_mass_kg")
        result.append(
            LineFacts(
                description=line.get("description") or "",
                hs_code=line.get("hs_code") or "",
                quantity=as_decimal(line.get("quantity") or 0),
                value=as_decimal(value),
                gross_mass_kg=as_decimal(mass) if mass else None,
                origin_country=line.get("origin_country") or "",
            )
        )
    return tuple(result)


def hs6_of(rows: Iterable[Mapping[str, Any]]) -> set[str]:
    return {
        (line.get("hs_code") or "")[:6]
        for row in rows
        for line in row["versions__data__lines"] or []
    }


def facts_of(
    rows: Sequence[Mapping[str, Any]],
    rules: Sequence[Rule],
    now: datetime.datetime,
    threshold: Decimal | None = None,
) -> list[Facts]:
    """The facts of these versions (``version_rows``), with their filers' and consignees'
    history read in two queries for all of them."""
    first = max(
        (int(r.params.get("first", 0)) for r in rules if r.kind == RuleKind.NEW_FILER), default=0
    )
    days = max(
        (int(r.params.get("days", 0)) for r in rules if r.kind == RuleKind.SPLIT_SHIPMENT),
        default=0,
    )
    positions = _filer_positions({row["organisation_id"] for row in rows}, first)
    parcels = _consignee_parcels(rows, days, now)
    result = []
    for row in rows:
        pk = row["pk"]
        id_number = row["consignee_id_number"]
        name = row["consignee_name"]
        key = _consignee_key(id_number, name)
        result.append(
            Facts(
                declaration_id=pk,
                version=row["versions__number"],
                submitted_at=row["submitted_at"] or now,
                customs_value=row["versions__customs_value"],
                seller_name=row["seller_name"],
                seller_country=row["seller_country"],
                consignee_id=id_number,
                consignee_name=name,
                platform=row["marketplace"],
                organisation_name=row["organisation__name"],
                lines=_line_facts(row),
                filer_position=positions.get(pk),
                consignee_parcels=tuple(at for other, at in parcels.get(key, []) if other != pk),
                threshold=threshold,
            )
        )
    return result


SCORE_FIELDS = (
    "declaration",
    "version",
    "points",
    "lane",
    "random_selected",
    "refer",
    "hits",
    "scored_at",
)


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector while a set is scored. Scoring a thousand declarations
    makes hundreds of thousands of short-lived objects (rows, facts, tuples) with no cycles
    among them, which reference counting frees; the collector's passes over them, and over
    every object of the process, cost a tenth of the time. It runs again afterwards, so any
    cycle made meanwhile is still collected."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def score_declarations(ids: Sequence[int], *, and_waiting: int = 0) -> int:
    """Score the latest version of each of these declarations that is still ``submitted`` and
    not yet scored, and move it on. Returns how many were scored; running it again scores none.

    ``and_waiting`` more declarations waiting to be scored are taken along, the oldest first,
    skipping any another worker holds: declarations submitted one at a time (the browser, the
    single API call) that arrive together are then scored together, and their own tasks find
    nothing left to do. Only the given ids are waited for, so two workers cannot deadlock.

    The hot path of the workers, written for thousands a second: the facts are read as plain
    values in a few queries, the rules run in Python, and the scores, status moves, history
    rows and status changes are written in sets by the database (``clearance.bulk``). Python's
    cycle collector is paused meanwhile (``_no_cycle_collection``).
    """
    now = timezone.now()
    today = timezone.localdate(now)
    rules = rules_in_force(today)
    limits = thresholds()
    with _no_cycle_collection(), transaction.atomic():
        # Locked in pk order (the one order every writer uses), and only those still waiting:
        # a second delivery of the same message finds them moved on and does nothing.
        locked = list(lock_many(ids).filter(status=Status.SUBMITTED).values_list("pk", flat=True))
        if and_waiting > 0:
            locked += lock_rows(
                Declaration.objects.filter(status=Status.SUBMITTED).exclude(pk__in=ids),
                skip_locked=True,
            ).values_list("pk", flat=True)[:and_waiting]
        if not locked:
            return 0
        rows = list(
            version_rows(Declaration.objects.filter(pk__in=locked))
            .exclude(
                Exists(
                    RiskScore.objects.filter(
                        declaration=OuterRef("pk"), version=OuterRef("version")
                    )
                )
            )
            .order_by("pk")
        )
        if not rows:
            return 0
        held = [row for row in rows if row["versions__held"]]
        if held:
            # Never scored: value-based rules on a parcel without a value would only mislead.
            # Submissions hold these themselves; this is the guard for anything else.
            declarations_move(
                moves=[Move(r["pk"], r["status"], r["version"], Status.HELD) for r in held],
                actor=Actor(),
                at=now,
            )
            rows = [row for row in rows if not row["versions__held"]]
        if not rows:
            return 0
        local, threshold, days = regime_limits(today)
        references = references_for(hs6_of(rows), local, today, days=days)
        scores = {
            facts.declaration_id: evaluate(facts, rules, limits, references)
            for facts in facts_of(rows, rules, now, threshold)
        }
        bulk.insert_rows(RiskScore, SCORE_FIELDS, (_score_row(row, scores, now) for row in rows))
        moves = [
            Move(
                row["pk"], row["status"], row["version"], _next(row, scores), scores[row["pk"]].lane
            )
            for row in rows
        ]
        declarations_move(
            moves=[m for m in moves if m.to != Status.RELEASED], actor=Actor(), at=now
        )
        to_pay = [m.declaration_id for m in moves if m.to == Status.AWAITING_PAYMENT]
        if to_pay:
            # Payments (another app, queued by name) release at once those on a deferred account
            # or already paid.
            enqueue_on_commit("refunds.release_settled", to_pay)
        _hand_on(rows, moves, scores, now)
    return len(rows)


def _hand_on(
    rows: Sequence[Mapping[str, Any]],
    moves: Sequence[Move],
    scores: Mapping[int, Score],
    now: datetime.datetime,
) -> None:
    """Officer review takes over what goes to an officer (a case) or out of customs (release)."""
    scored = [
        Scored(
            declaration_id=row["pk"],
            status=row["status"],
            version=row["version"],
            to=move.to,
            lane=scores[row["pk"]].lane,
            points=scores[row["pk"]].points,
            submitted_at=row["submitted_at"] or now,
            organisation_id=row["organisation_id"],
            system_reference=row["system_reference"],
            reference=row["reference"],
        )
        for row, move in zip(rows, moves, strict=True)
        if move.to in (Status.UNDER_REVIEW, Status.RELEASED)
    ]
    if not scored:
        return
    if not declarations_scored.has_listeners():
        raise ImproperlyConfigured("Officer review (clearance.review) must be installed.")
    declarations_scored.send(sender=Score, scored=scored, at=now)


def _score_row(
    row: Mapping[str, Any], scores: Mapping[int, Score], now: datetime.datetime
) -> tuple[Any, ...]:
    """A ``RiskScore`` row in the order of ``SCORE_FIELDS``."""
    score = scores[row["pk"]]
    hits = json.dumps([h.to_dict() for h in score.hits])
    return (
        row["pk"],
        row["version"],
        score.points,
        score.lane,
        score.random_selected,
        score.refer,
        hits,
        now,
    )


def _next(row: Mapping[str, Any], scores: Mapping[int, Score]) -> str:
    """Where a scored declaration goes: review unless green; otherwise to payment when
    something is due, else released."""
    if scores[row["pk"]].lane != RiskLane.GREEN:
        return Status.UNDER_REVIEW
    if row["versions__total_due"] > ZERO:
        return Status.AWAITING_PAYMENT
    return Status.RELEASED


class Limits(NamedTuple):
    local: str  # the local currency ("" without a regime)
    threshold: Decimal | None  # the duty-free limit in it
    days: int  # how long an exchange rate stays in force


def regime_limits(on: datetime.date) -> Limits:
    """The local currency, and the duty-free limit in it, of the regime in force."""
    regime = regime_in_force(settings.PORTAL_ECONOMY, on)
    if regime is None:
        return Limits("", None, DEFAULT_RATE_DAYS)
    rules = rules_of(regime)
    days = regime.exchange_rate_days
    if rules.duty_free_up_to is None:
        return Limits(rules.local_currency, None, days)
    rate = rate_in_force(rules.threshold_currency, rules.local_currency, on, days=days)
    return Limits(
        rules.local_currency, None if rate is None else rules.duty_free_up_to * rate, days
    )


def unscored(older_than: datetime.timedelta, limit: int = 5000) -> list[int]:
    """Declarations left ``submitted`` without a score for longer than ``older_than``."""
    since = timezone.now() - older_than
    return list(
        Declaration.objects.filter(status=Status.SUBMITTED, updated_at__lt=since)
        .exclude(risk_scores__version=F("version"))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
