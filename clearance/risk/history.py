"""Risk computations over history: reference prices from released declarations, and the
what-if preview of a rule or lane change. Both read; neither changes a declaration."""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from clearance.risk.models import ReferencePrice, RiskLane, RiskRule
from clearance.risk.rules import Rule, Thresholds, evaluate
from clearance.risk.scoring import (
    facts_of,
    hs6_of,
    references_for,
    regime_limits,
    rules_in_force,
    thresholds,
    version_rows,
)
from declarations.models import Declaration, Status

# --- Reference prices from history ----------------------------------------------------------

_MEDIANS = """
WITH lines AS (
    SELECT substr(l.value->>'hs_code', 1, 6) AS hs6,
           (a.value->>'customs_value')::numeric AS value,
           NULLIF(l.value->>'gross_mass_kg', '')::numeric AS kg,
           NULLIF(l.value->>'quantity', '')::numeric AS quantity
    FROM declarations_declarationversion v
    JOIN declarations_declaration d ON d.id = v.declaration_id AND d.version = v.number
    CROSS JOIN LATERAL jsonb_array_elements(v.data->'lines') WITH ORDINALITY AS l(value, n)
    JOIN LATERAL jsonb_array_elements(v.assessment->'lines') WITH ORDINALITY AS a(value, n)
         ON a.n = l.n
    WHERE d.status = 'released' AND NOT v.held AND v.created_at >= %s
      AND v.assessment_currency = %s
)
SELECT hs6, count(*),
       percentile_disc(0.5) WITHIN GROUP (ORDER BY value / kg) FILTER (WHERE kg > 0),
       percentile_disc(0.5) WITHIN GROUP (ORDER BY value / quantity) FILTER (WHERE quantity > 0)
FROM lines
GROUP BY hs6
HAVING count(*) >= %s
"""


def reference_prices_refresh(*, days: int = 365, min_samples: int = 30) -> int:
    """Median customs value per kg and per unit of each HS subheading over the released
    declarations of the last ``days`` days, where there are at least ``min_samples`` lines.
    A subheading with enough history replaces its shipped starting price."""
    local = regime_limits(timezone.localdate()).local
    since = timezone.now() - datetime.timedelta(days=days)
    with connection.cursor() as cursor:
        cursor.execute(_MEDIANS, [since, local, min_samples])
        rows = cursor.fetchall()
    now = timezone.now()
    places = Decimal("0.0001")
    prices = [
        ReferencePrice(
            hs6=hs6,
            samples=count,
            per_kg=None if per_kg is None else per_kg.quantize(places),
            per_unit=None if per_unit is None else per_unit.quantize(places),
            currency=local,
            source="history",
            updated_at=now,
        )
        for hs6, count, per_kg, per_unit in rows
        if hs6
    ]
    ReferencePrice.objects.bulk_create(
        prices,
        update_conflicts=True,
        unique_fields=["hs6"],
        update_fields=["samples", "per_kg", "per_unit", "currency", "source", "updated_at"],
    )
    return len(prices)


# --- What if ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Moved:
    declaration_id: int
    system_reference: str
    before: str
    after: str
    points_before: int
    points_after: int


@dataclass(frozen=True)
class WhatIf:
    declarations: int
    before: dict[str, int]
    after: dict[str, int]
    sample: tuple[Moved, ...]


def what_if(
    *,
    rules: Sequence[Rule],
    limits: Thresholds,
    days: int,
    sample: int = 20,
    cap: int = 20_000,
) -> WhatIf:
    """How the declarations submitted in the last ``days`` days would fall into lanes under
    these rules and thresholds, beside the rules and thresholds in force. Reads only."""
    now = timezone.now()
    today = timezone.localdate(now)
    current = rules_in_force(today)
    current_limits = thresholds()
    rows = list(
        version_rows(
            Declaration.objects.filter(submitted_at__gte=now - datetime.timedelta(days=days))
            .exclude(status__in=[Status.DRAFT, Status.CANCELLED])
            .order_by("-submitted_at")
        )[:cap]
    )
    local, threshold, days = regime_limits(today)
    references = references_for(hs6_of(rows), local, today, days=days)
    wanted = [*current, *rules]
    before = dict.fromkeys(RiskLane.values, 0)
    after = dict.fromkeys(RiskLane.values, 0)
    moved: list[Moved] = []
    for row, facts in zip(rows, facts_of(rows, wanted, now, threshold), strict=True):
        old = evaluate(facts, current, current_limits, references)
        new = evaluate(facts, rules, limits, references)
        before[old.lane] += 1
        after[new.lane] += 1
        if old.lane != new.lane and len(moved) < sample:
            moved.append(
                Moved(
                    declaration_id=facts.declaration_id,
                    system_reference=row["system_reference"],
                    before=old.lane,
                    after=new.lane,
                    points_before=old.points,
                    points_after=new.points,
                )
            )
    return WhatIf(len(rows), before, after, tuple(moved))


def proposed_rules(changed: RiskRule, on: datetime.date) -> list[Rule]:
    """The rules in force with one rule added or replaced by an unsaved version of it."""
    rules = [r for r in rules_in_force(on) if r.id != changed.pk]
    in_force = (
        changed.enabled
        and changed.effective_from <= on
        and (changed.effective_to is None or changed.effective_to >= on)
    )
    if in_force:
        rules.append(
            Rule(
                id=changed.pk or 0,
                kind=changed.kind,
                params=changed.params,
                points=changed.points,
                reason=changed.reason_template,
            )
        )
    return rules
