"""The risk engine's rules: plain values in, a score and a lane out.

``evaluate`` is a pure function of plain values (the facts of one submitted version, the rules
in force, the thresholds and the reference prices), so a test or a what-if needs no database
and the same version always gets the same score. The random selection is part of that: a
declaration's draw is a hash of its id and version, so scoring it again draws the same number.
``clearance.risk.scoring`` loads those values from the database and stores what comes out.
"""

import datetime
import functools
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from clearance.reference import hs_description
from clearance.risk.models import RiskLane, RuleKind

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


def as_decimal(value: Any) -> Decimal:
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
    ratio = as_decimal(params["ratio"])
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
        limit = as_decimal(params["limit"])
    elif facts.threshold is not None:
        limit = facts.threshold
    else:
        return None
    floor = limit * (1 - as_decimal(params["within_percent"]) / 100)
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
        if low is not None and per_kg < as_decimal(low):
            return {"value": f"{per_kg:.2f}", "limit": str(low), "detail": line.hs_code}
        if high is not None and per_kg > as_decimal(high):
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
            return as_decimal(value) >= 0
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
