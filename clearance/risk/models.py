"""Risk scoring's data: the rules and their kinds, the lanes and thresholds, reference prices,
and the score of each submitted version. Never shown to filers.

Tables keep the names they had when these models lived in the clearance core
(``clearance_riskrule``...): moving the room moved the code, not the data.
"""

import datetime
from decimal import Decimal

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class RuleKind(models.TextChoices):
    HS_PREFIX = "hs_prefix", _("HS code starts with")
    ORIGIN = "origin", _("Origin or route")
    WATCH_LIST = "watch_list", _("Party on a watch list")
    NEW_FILER = "new_filer", _("New filer")
    UNDERVALUATION = "undervaluation", _("Value below the reference price")
    NEAR_THRESHOLD = "near_threshold", _("Value just under the threshold")
    SPLIT_SHIPMENT = "split_shipment", _("Split shipments")
    DESCRIPTION = "description", _("Vague or mismatched description")
    WEIGHT_VALUE = "weight_value", _("Weight and value do not fit")
    OTHER_AGENCY = "other_agency", _("Goods another agency must see")


class RiskLane(models.TextChoices):
    GREEN = "green", _("Green")
    YELLOW = "yellow", _("Yellow")
    RED = "red", _("Red")


class RiskRuleQuerySet(models.QuerySet["RiskRule"]):
    def in_force(self, on: "datetime.date") -> "RiskRuleQuerySet":
        return self.filter(enabled=True, effective_from__lte=on).filter(
            models.Q(effective_to__isnull=True) | models.Q(effective_to__gte=on)
        )


class RiskRule(models.Model):
    """One rule of the risk engine: what it looks for (``kind`` and ``params``), its points,
    and the reason an officer reads when it hits.

    ``params`` is checked by ``clearance.risk.rules.validate_params`` for the rule's kind; the
    reason template may name ``{value}``, ``{limit}`` and ``{detail}``, filled in by the rule.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=RuleKind.choices)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    points = models.PositiveSmallIntegerField(_("points"))
    enabled = models.BooleanField(_("enabled"), default=True)
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(_("effective to"), null=True, blank=True)
    reason_template = models.CharField(_("reason"), max_length=300)
    updated_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords(table_name="clearance_historicalriskrule")
    objects = RiskRuleQuerySet.as_manager()

    class Meta:
        db_table = "clearance_riskrule"
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(effective_to__isnull=True)
                | models.Q(effective_to__gte=models.F("effective_from")),
                name="risk_rule_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RiskSettings(models.Model):
    """The lane thresholds and the random share: one row (pk 1), kept with its history."""

    yellow_from = models.PositiveSmallIntegerField(
        _("yellow from (points)"), default=30, help_text=_("A score this high or more is yellow.")
    )
    red_from = models.PositiveSmallIntegerField(
        _("red from (points)"), default=70, help_text=_("A score this high or more is red.")
    )
    random_share = models.DecimalField(
        _("random share"),
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.0200"),
        help_text=_("The share of otherwise green declarations sent to a document check."),
    )
    review_hours = models.PositiveSmallIntegerField(
        _("review time (hours)"),
        default=24,
        help_text=_("A case is due this many hours after submission."),
    )
    updated_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords(table_name="clearance_historicalrisksettings")

    class Meta:
        db_table = "clearance_risksettings"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(red_from__gt=models.F("yellow_from")),
                name="risk_settings_red_above_yellow",
            ),
            models.CheckConstraint(
                condition=models.Q(random_share__gte=0) & models.Q(random_share__lte=1),
                name="risk_settings_share_fraction",
            ),
        ]

    def __str__(self) -> str:
        return f"yellow {self.yellow_from}, red {self.red_from}"

    @classmethod
    def current(cls) -> "RiskSettings":
        found, _created = cls.objects.get_or_create(pk=1)
        return found


class ReferencePrice(models.Model):
    """The median value per kilogram and per unit of an HS subheading in ``currency``, from
    enough earlier declarations (``samples``) to be trusted."""

    hs6 = models.CharField(max_length=6, unique=True)
    per_kg = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    per_unit = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    currency = models.CharField(max_length=3)
    samples = models.PositiveIntegerField()
    source = models.CharField(max_length=20)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "clearance_referenceprice"

    def __str__(self) -> str:
        return self.hs6


class RiskScore(models.Model):
    """The score of one version of a declaration, with its hits. Never shown to filers.

    ``hits`` is a list of ``{"rule", "kind", "points", "reason"}``; the unique constraint on
    (declaration, version) is what makes scoring the same version twice a no-op.
    """

    # No index of its own: the unique constraint's index starts with the declaration.
    declaration = models.ForeignKey(
        "declarations.Declaration",
        on_delete=models.CASCADE,
        related_name="risk_scores",
        db_index=False,
    )
    version = models.PositiveIntegerField()
    points = models.PositiveIntegerField()
    lane = models.CharField(max_length=10, choices=RiskLane.choices)
    random_selected = models.BooleanField(default=False)
    refer = models.BooleanField(default=False)
    hits = models.JSONField(default=list)
    scored_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "clearance_riskscore"
        ordering = ["declaration", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["declaration", "version"], name="risk_score_version_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.declaration_id} v{self.version}: {self.points} {self.lane}"
