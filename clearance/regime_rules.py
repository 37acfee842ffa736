"""A regime's rules: the row in force, its plain snapshot for the assessment, and the checks and
the save that an administrator's edit goes through.

``Regime`` keeps some rules as JSON (overrides by origin, aggregation rules, excluded goods,
transport modes): ``regime_validate`` says what they may hold, and ``rules_of`` reads them into
the assessment's ``RegimeRules``.
"""

import datetime
import re
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from clearance.actors import stamped
from clearance.assessment_types import AggregationRule, Override, RegimeRules
from clearance.errors import ServiceError
from clearance.models import Regime, TransportMode, User
from clearance.queue import enqueue_on_commit
from clearance.reference import countries, currency_exists

# Declarations held for a missing rate or regime are assessed again by this task (queued by
# name: the declarations app sits above this one) whenever rates or regimes change.
REASSESS_TASK = "declarations.reassess_held"

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

Errors = dict[str, list[str]]

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


# --- Validation and the save -------------------------------------------------------------


def regime_validate(regime: Regime) -> None:
    """Every rule an administrator's edit must keep; raises ``ValidationError`` per field.

    The fields are checked in a fixed order (``regime_save`` reports the first one wrong).
    """
    errors: Errors = defaultdict(list)
    _check_codes(regime, errors)
    _check_overrides(regime.threshold_overrides, errors)
    _check_aggregation_rules(regime.aggregation_rules, errors)
    _check_regex(regime.consignee_id_pattern, "consignee_id_pattern", errors)
    _check_regex(regime.vendor_tax_id_pattern, "vendor_tax_id_pattern", errors)
    if regime.consignee_id_required and not regime.consignee_id_pattern:
        errors["consignee_id_pattern"].append(
            _("Give the pattern of the identification number that is required.")
        )
    if not Decimal(0) < regime.personal_use_percent <= 100:
        errors["personal_use_percent"].append(_("Give a percentage above 0 and at most 100."))
    _check_period(regime, errors)
    if errors:
        raise ValidationError(dict(errors))


def _check_codes(regime: Regime, errors: Errors) -> None:
    """The economy and currencies are ISO codes; goods and transport modes are lists of codes."""
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


def _check_overrides(overrides: Any, errors: Errors) -> None:
    if not isinstance(overrides, list) or not all(isinstance(o, dict) for o in overrides):
        errors["threshold_overrides"].append(_("Give a list of objects."))
        return
    for number, item in enumerate(overrides, start=1):
        problem = _override_problem(item)
        if problem:
            errors["threshold_overrides"].append(
                _("Override %(n)s: %(problem)s.") % {"n": number, "problem": problem}
            )


def _override_problem(item: dict[str, Any]) -> str:
    """What is wrong with one override, the first thing found, or an empty string."""
    unknown = set(item) - OVERRIDE_KEYS
    if unknown:
        return _("unknown keys %(keys)s") % {"keys": ", ".join(sorted(unknown))}
    if not set(item.get("origins", [])) <= set(countries()):
        return _("origins must be ISO 3166 alpha-2 codes")
    if item.get("basis", "shipped_from") not in {"shipped_from", "goods_origin"}:
        return _("basis must be shipped_from or goods_origin")
    if not set(item.get("transport_modes", [])) <= set(TransportMode.values):
        return _("transport_modes must be among postal, express and cargo")
    if not set(item.get("purposes", [])) <= PURPOSES:
        return _("purposes must be among personal, commercial and gift")
    if not all(_check_amount(item.get(k)) for k in ("duty_free_up_to", "tax_free_up_to")):
        return _("limits must be amounts of zero or more")
    return ""


def _check_aggregation_rules(rules: Any, errors: Errors) -> None:
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        errors["aggregation_rules"].append(_("Give a list of objects."))
        return
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


def _check_regex(pattern: str, field: str, errors: Errors) -> None:
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


def _check_period(regime: Regime, errors: Errors) -> None:
    """The period is in order and overlaps no other period of the same economy."""
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
