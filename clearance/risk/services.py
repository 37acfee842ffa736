"""Writes of risk scoring's configuration: the rules and the lanes, by supervisors only. Each
change is saved with its history row naming the supervisor."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clearance.actors import stamped
from clearance.errors import ServiceError
from clearance.models import Role, User
from clearance.risk.models import RiskRule, RiskSettings
from clearance.risk.rules import validate_params


def rule_save(*, rule: RiskRule, by: User) -> RiskRule:
    """Save a risk rule after checking its parameters for its kind; the history row names
    the supervisor."""
    if not by.has_role(Role.SUPERVISOR):
        raise ServiceError(_("Only a supervisor can change risk rules."), code="forbidden")
    problems = validate_params(rule.kind, rule.params)
    if problems:
        raise ServiceError(" ".join(problems), field="params")
    if rule.effective_to is not None and rule.effective_to < rule.effective_from:
        raise ServiceError(
            _("A rule cannot end before it starts."), field="effective_to", code="dates"
        )
    rule.updated_at = timezone.now()
    with transaction.atomic():
        stamped(rule, by).save()
    return rule


def risk_settings_save(*, settings: RiskSettings, by: User) -> RiskSettings:
    if not by.has_role(Role.SUPERVISOR):
        raise ServiceError(_("Only a supervisor can change the lanes."), code="forbidden")
    if settings.red_from <= settings.yellow_from:
        raise ServiceError(_("Red must start above yellow."), field="red_from")
    if not 0 <= settings.random_share <= 1:
        raise ServiceError(_("The random share is a fraction from 0 to 1."), field="random_share")
    settings.pk = 1
    settings.updated_at = timezone.now()
    with transaction.atomic():
        stamped(settings, by).save()
    return settings
