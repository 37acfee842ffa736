"""The risk engine: rules over a declaration's facts, a score, and the lane it picks.

``evaluate`` is a pure function of plain values (the facts of one submitted version, the rules
in force, the thresholds and the reference prices), so a test or a what-if needs no database
and the same version always gets the same score. The random selection is part of that: a
declaration's draw is a hash of its id and version, so scoring it again draws the same number.

``score_declarations`` loads the facts of many submitted declarations with a few queries, scores
them, stores each score with its hits (once per version: a unique constraint) and moves the
declarations on with the declarations services: green with nothing due to released, green with
something due to awaiting payment, yellow and red to under review with a case in a queue.
"""

import contextlib
import datetime
import functools
import gc
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.postgres.aggregates import ArrayAgg
from django.contrib.postgres.expressions import ArraySubquery
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from clearance import bulk, regimes, release
from clearance.models import (
    Organisation,
    Queue,
    ReferencePrice,
    ReviewCase,
    RiskLane,
    RiskRule,
    RiskScore,
    RiskSettings,
    RuleKind,
)
from clearance.queue import enqueue_on_commit
from clearance.reference import hs_description
from declarations.models import Declaration, Status
from declarations.services import Actor, Move, declarations_move, lock_many

ZERO = Decimal(0)

# --- Plain values ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LineFacts:
    description: str
    hs_code: str
    quantity: Decimal
    value: Decimal  # customs value of the line in local currency
    gross_mass_kg: Decimal | None
    origin_country: str


@dataclass(frozen=True)
class Facts:
    """What the rules look at in one submitted version of a declaration."""

    declaration_id: int
    version: int
    submitted_at: datetime.datetime
    customs_value: Decimal  # local currency
    seller_name: str = ""
    seller_country: str = ""
    consignee_id: str = ""
    consignee_name: str = ""
    platform: str = ""  # the marketplace, and the filing organisation's name
    organisation_name: str = ""
    lines: tuple[LineFacts, ...] = ()
    filer_position: int | None = None  # 1 for the filer's first declaration; None if late
    consignee_parcels: tuple[datetime.datetime, ...] = ()  # the consignee's other parcels
    threshold: Decimal | None = None  # the duty-free limit in force, in local currency


@dataclass(frozen=True)
class Rule:
    id: int
    kind: str
    params: Mapping[str, Any]
    points: int
    reason: str


@dataclass(frozen=True)
class Thresholds:
    yellow_from: int = 30
    red_from: int = 70
    random_share: Decimal = Decimal("0.02")


@dataclass(frozen=True)
class Reference:
    """Reference prices of one HS subheading in local currency."""

    per_kg: Decimal | None
    per_unit: Decimal | None
    samples: int


@dataclass(frozen=True)
class Hit:
    rule: int
    kind: str
    points: int
    reason: str
    refer: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "kind": self.kind,
            "points": self.points,
            "reason": self.reason,
            "refer": self.refer,
        }


@dataclass(frozen=True)
class Score:
    points: int
    lane: str
    random_selected: bool
    refer: bool
    hits: tuple[Hit, ...] = field(default_factory=tuple)


# --- Rule kinds -----------------------------------------------------------------------------

Detail = dict[str, str]
Check = Callable[[Facts, Mapping[str, Any], Mapping[str, Reference]], Detail | None]


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def _words(text: str) -> set[str]:
    return {w.rstrip("s") for w in re.findall(r"[a-z]{3,}", text.lower())}


@functools.cache
def _hs_words(hs_code: str) -> frozenset[str]:
    """The words of an HS code's chapter, heading and subheading (the nomenclature is fixed)."""
    return frozenset(_words(" ".join(hs_description(hs_code[:n]) or "" for n in (2, 4, 6))))


def _check_hs_prefix(facts: Facts, params: Mapping[str, Any], _r: Any) -> Detail | None:
    prefixes = tuple(params["prefixes"])
    found = sorted({line.hs_code for line in facts.lines if line.hs_code.startswith(prefixes)})
    return {"value": ", ".join(found)} if found else None


def _check_origin(facts: Facts, params: Mapping[str, Any], _r: Any) -> Detail | None:
    countries = set(params["countries"])
    basis = params.get("basis", "either")
    found: set[str] = set()
    if basis in ("origin", "either"):
        found |= {line.origin_country for line in facts.lines} & countries
    if basis in ("route", "either") and facts.seller_country in countries:
        found.add(facts.seller_country)
    return {"value": ", ".join(sorted(found))} if found else None


def _check_watch_list(facts: Facts, params: Mapping[str, Any], _r: Any) -> Detail | None:
    names = {str(n).strip().lower() for n in params["names"]}
    party = params["party"]
    if party == "consignee":
        candidates = [facts.consignee_id, facts.consignee_name]
    elif party == "seller":
        candidates = [facts.seller_name]
    else:
        candidates = [facts.platform, facts.organisation_name]
    for candidate in candidates:
        if candidate and candidate.strip().lower() in names:
            return {"value": candidate}
    return None


def _check_new_filer(facts: Facts, params: Mapping[str, Any], _r: Any) -> Detail | None:
    first = int(params["first"])
    if facts.filer_position is not None and facts.filer_position <= first:
        return {"value": str(facts.filer_position), "limit": str(first)}
    return None


def _check_undervaluation(
    facts: Facts, params: Mapping[str, Any], references: Mapping[str, Reference]
) -> Detail | None:
    ratio = _dec(params["ratio"])
    min_samples = int(params.get("min_samples", 10))
    for line in facts.lines:
        ref = references.get(line.hs_code[:6])
        if ref is None or ref.samples < min_samples:
            continue
        if ref.per_kg and line.gross_mass_kg:
            per_kg = line.value / line.gross_mass_kg
            if per_kg < ref.per_kg * ratio:
                return {
                    "value": f"{per_kg:.2f}",
                    "limit": f"{ref.per_kg:.2f}",
                    "detail": f"{line.hs_code} per kg",
                }
        if ref.per_unit and line.quantity:
            per_unit = line.value / line.quantity
            if per_unit < ref.per_unit * ratio:
                return {
                    "value": f"{per_unit:.2f}",
                    "limit": f"{ref.per_unit:.2f}",
                    "detail": f"{line.hs_code} per unit",
                }
    return None


def _check_near_threshold(facts: Facts, params: Mapping[str, Any], _r: Any) -> Detail | None:
    if "limit" in params:
        limit = _dec(params["limit"])
    elif facts.threshold is not None:
        limit = facts.threshold
    else:
        return None
    floor = limit * (1 - _dec(params["within_percent"]) / 100)
    if floor <= facts.customs_value < limit:
        return {"value": f"{facts.customs_value:.2f}", "limit": f"{limit:.2f}"}
    return None


def _check_split_shipment(facts: Facts, params: Mapping[str, Any], _r: Any) -> Detail | None:
    since = facts.submitted_at - datetime.timedelta(days=int(params["days"]))
    count = 1 + sum(1 for at in facts.consignee_parcels if since <= at <= facts.submitted_at)
    if count >= int(params["parcels"]):
        return {"value": str(count), "limit": str(params["days"])}
    return None


@functools.lru_cache(maxsize=256)
def _lowered(words: tuple[str, ...]) -> frozenset[str]:
    return frozenset(str(w).lower() for w in words)


def _has_letters(text: str, count: int) -> bool:
    """Whether the text has at least ``count`` letters (stops as soon as it has)."""
    for char in text:
        if char.isalpha():
            count -= 1
            if count <= 0:
                return True
    return count <= 0


def _check_description(facts: Facts, params: Mapping[str, Any], _r: Any) -> Detail | None:
    vague = _lowered(tuple(params.get("vague_words", ())))
    min_letters = int(params.get("min_letters", 4))
    match_hs = params.get("match_hs", True)
    for line in facts.lines:
        text = line.description.strip()
        if not _has_letters(text, min_letters) or text.lower() in vague:
            return {"value": text, "detail": "vague"}
        if match_hs and line.hs_code:
            known = _hs_words(line.hs_code[:6])
            if known and not (_words(text) & known):
                return {"value": text, "detail": line.hs_code}
    return None


def _check_weight_value(facts: Facts, params: Mapping[str, Any], _r: Any) -> Detail | None:
    low = params.get("min_per_kg")
    high = params.get("max_per_kg")
    for line in facts.lines:
        if not line.gross_mass_kg:
            continue
        per_kg = line.value / line.gross_mass_kg
        if low is not None and per_kg < _dec(low):
            return {"value": f"{per_kg:.2f}", "limit": str(low), "detail": line.hs_code}
        if high is not None and per_kg > _dec(high):
            return {"value": f"{per_kg:.2f}", "limit": str(high), "detail": line.hs_code}
    return None


def _check_other_agency(facts: Facts, params: Mapping[str, Any], _r: Any) -> Detail | None:
    found = _check_hs_prefix(facts, params, _r)
    if found is None:
        return None
    return {**found, "detail": str(params.get("agency", ""))}


CHECKS: dict[str, Check] = {
    RuleKind.HS_PREFIX: _check_hs_prefix,
    RuleKind.ORIGIN: _check_origin,
    RuleKind.WATCH_LIST: _check_watch_list,
    RuleKind.NEW_FILER: _check_new_filer,
    RuleKind.UNDERVALUATION: _check_undervaluation,
    RuleKind.NEAR_THRESHOLD: _check_near_threshold,
    RuleKind.SPLIT_SHIPMENT: _check_split_shipment,
    RuleKind.DESCRIPTION: _check_description,
    RuleKind.WEIGHT_VALUE: _check_weight_value,
    RuleKind.OTHER_AGENCY: _check_other_agency,
}

# Each kind's parameters: name -> (type, required).
PARAMS: dict[str, dict[str, tuple[str, bool]]] = {
    RuleKind.HS_PREFIX: {"prefixes": ("digits", True)},
    RuleKind.ORIGIN: {"countries": ("countries", True), "basis": ("basis", False)},
    RuleKind.WATCH_LIST: {"party": ("party", True), "names": ("names", True)},
    RuleKind.NEW_FILER: {"first": ("int", True)},
    RuleKind.UNDERVALUATION: {"ratio": ("decimal", True), "min_samples": ("int", False)},
    RuleKind.NEAR_THRESHOLD: {"limit": ("decimal", False), "within_percent": ("decimal", True)},
    RuleKind.SPLIT_SHIPMENT: {"parcels": ("int", True), "days": ("int", True)},
    RuleKind.DESCRIPTION: {
        "vague_words": ("names", False),
        "min_letters": ("int", False),
        "match_hs": ("bool", False),
    },
    RuleKind.WEIGHT_VALUE: {"min_per_kg": ("decimal", False), "max_per_kg": ("decimal", False)},
    RuleKind.OTHER_AGENCY: {"prefixes": ("digits", True), "agency": ("text", True)},
}


def _valid(kind: str, value: Any) -> bool:
    if kind == "digits":
        return isinstance(value, list) and all(
            isinstance(v, str) and v.isdigit() and 2 <= len(v) <= 6 for v in value
        )
    if kind == "countries":
        return isinstance(value, list) and all(
            isinstance(v, str) and re.fullmatch(r"[A-Z]{2}", v) for v in value
        )
    if kind == "names":
        return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool) and value > 0
    if kind == "decimal":
        try:
            return _dec(value) >= 0
        except InvalidOperation:
            return False
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "basis":
        return value in ("origin", "route", "either")
    if kind == "party":
        return value in ("consignee", "seller", "platform")
    return isinstance(value, str) and bool(value.strip())


def validate_params(kind: str, params: Mapping[str, Any]) -> list[str]:
    """Problems with a rule's parameters, one sentence each; empty when they are right."""
    spec = PARAMS.get(kind)
    if spec is None:
        return [f"Unknown kind of rule: {kind}."]
    problems = [f"Unknown parameter: {name}." for name in params if name not in spec]
    for name, (kind_of, required) in spec.items():
        if name not in params:
            if required:
                problems.append(f"Parameter {name} is required.")
        elif not _valid(kind_of, params[name]):
            problems.append(f"Parameter {name} is not a valid {kind_of} value.")
    return problems


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def reason_text(template: str, detail: Detail) -> str:
    try:
        return template.format_map(_Blank(detail))
    except (ValueError, IndexError, AttributeError):
        return template


# --- Scoring --------------------------------------------------------------------------------


def random_draw(declaration_id: int, version: int) -> float:
    """A number in [0, 1) fixed by the declaration and version, evenly spread."""
    digest = hashlib.sha256(f"risk:{declaration_id}:{version}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def pick_lane(points: int, thresholds: Thresholds, draw: float) -> tuple[str, bool]:
    """The lane for a score; an otherwise green declaration goes to yellow when its draw falls
    in the random share (the second value says so)."""
    if points >= thresholds.red_from:
        return RiskLane.RED, False
    if points >= thresholds.yellow_from:
        return RiskLane.YELLOW, False
    if draw < float(thresholds.random_share):
        return RiskLane.YELLOW, True
    return RiskLane.GREEN, False


def evaluate(
    facts: Facts,
    rules: Iterable[Rule],
    thresholds: Thresholds,
    references: Mapping[str, Reference],
) -> Score:
    hits: list[Hit] = []
    for rule in rules:
        detail = CHECKS[rule.kind](facts, rule.params, references)
        if detail is not None:
            hits.append(
                Hit(
                    rule=rule.id,
                    kind=rule.kind,
                    points=rule.points,
                    reason=reason_text(rule.reason, detail),
                    refer=rule.kind == RuleKind.OTHER_AGENCY,
                )
            )
    points = sum(h.points for h in hits)
    refer = any(h.refer for h in hits)
    lane, selected = pick_lane(points, thresholds, random_draw(facts.declaration_id, facts.version))
    if refer and lane == RiskLane.GREEN:
        # Goods another agency must see never leave without an officer.
        lane = RiskLane.YELLOW
    return Score(points=points, lane=lane, random_selected=selected, refer=refer, hits=tuple(hits))


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
    hs6: Iterable[str], local: str, on: datetime.date, *, days: int = regimes.DEFAULT_RATE_DAYS
) -> dict[str, Reference]:
    """Reference prices converted to local currency at the rate in force (unknown rate: none)."""
    found: dict[str, Reference] = {}
    rates: dict[str, Decimal | None] = {local: Decimal(1)}
    for ref in ReferencePrice.objects.filter(hs6__in=set(hs6)):
        if ref.currency not in rates:
            rates[ref.currency] = regimes.rate_in_force(ref.currency, local, on, days=days)
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
                quantity=_dec(line.get("quantity") or 0),
                value=_dec(value),
                gross_mass_kg=_dec(mass) if mass else None,
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


def _queue_for(lane: str) -> str:
    return Queue.INSPECTION if lane == RiskLane.RED else Queue.DOCUMENT_CHECK


def open_cases(rows: Sequence[Mapping[str, Any]], scores: Mapping[int, Score]) -> None:
    """A case in its queue for each declaration going under review (reopened after an
    amendment), due ``review_hours`` after its submission. ``rows`` are ``version_rows``."""
    hours = RiskSettings.current().review_hours
    now = timezone.now()
    existing = {
        c.declaration_id: c
        for c in ReviewCase.objects.filter(declaration__in=[row["pk"] for row in rows])
    }
    new = []
    for row in rows:
        pk = row["pk"]
        score = scores[pk]
        due = (row["submitted_at"] or now) + datetime.timedelta(hours=hours)
        case = existing.get(pk)
        if case is None:
            new.append(
                ReviewCase(
                    declaration_id=pk,
                    queue=_queue_for(score.lane),
                    points=score.points,
                    opened_at=now,
                    due_at=due,
                )
            )
            continue
        case.queue = _queue_for(score.lane)
        case.points = score.points
        case.opened_at = now
        case.due_at = due
        case.closed_at = None
        case.claimed_by = None
        case.claimed_at = None
        case.save()
    if new:
        bulk_create_with_history(new, ReviewCase, default_date=now)


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
            locked += (
                Declaration.objects.select_for_update(of=("self",), skip_locked=True)
                .filter(status=Status.SUBMITTED)
                .exclude(pk__in=ids)
                .order_by("pk")
                .values_list("pk", flat=True)[:and_waiting]
            )
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
        release.release_locked(
            [
                _releasable(row, m.lane)
                for row, m in zip(rows, moves, strict=True)
                if m.to == Status.RELEASED
            ],
            expected=(Status.SUBMITTED,),
            actor=Actor(),
            at=now,
        )
        to_pay = [m.declaration_id for m in moves if m.to == Status.AWAITING_PAYMENT]
        if to_pay:
            # Payments (another app, queued by name) release at once those on a deferred account
            # or already paid.
            enqueue_on_commit("refunds.release_settled", to_pay)
        review = [row for row, m in zip(rows, moves, strict=True) if m.to == Status.UNDER_REVIEW]
        if review:
            open_cases(review, scores)
    return len(rows)


def _releasable(row: Mapping[str, Any], lane: str | None) -> release.Releasable:
    return release.Releasable(
        declaration_id=row["pk"],
        status=row["status"],
        version=row["version"],
        held=row["versions__held"],
        scored=True,  # its score was stored just now, in this transaction
        organisation_id=row["organisation_id"],
        system_reference=row["system_reference"],
        reference=row["reference"],
        lane=lane,
    )


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
    regime = regimes.regime_in_force(settings.PORTAL_ECONOMY, on)
    if regime is None:
        return Limits("", None, regimes.DEFAULT_RATE_DAYS)
    rules = regimes.rules_of(regime)
    days = regime.exchange_rate_days
    if rules.duty_free_up_to is None:
        return Limits(rules.local_currency, None, days)
    rate = regimes.rate_in_force(rules.threshold_currency, rules.local_currency, on, days=days)
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
