"""Money: the ledger, payments through a provider, deferred accounts, statements and refunds.

The ledger (``LedgerEntry``) is append-only: a row is written once and never changed or
deleted (a database trigger refuses both), and every balance is a sum over it. Amounts are
signed from the organisation's point of view: what it owes is positive (a charge, a refund paid
out to it), what settles or reduces it is negative (a payment, an adjustment).

Refunds move through ``REFUND_TRANSITIONS`` (data, one guard); every move is a history row with
the acting user.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from clearance.errors import ServiceError
from clearance.workflow import Workflow

MONEY_DIGITS = 18
MONEY_PLACES = 4
ZERO = Decimal(0)


def money_field(label: Any, **kwargs: Any) -> models.DecimalField[Any, Any]:
    return models.DecimalField(
        label, max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, **kwargs
    )


# --- Ledger ----------------------------------------------------------------------------------


class LedgerQuerySet(models.QuerySet["LedgerEntry"]):
    def balance(self) -> dict[str, Decimal]:
        """What is owed per currency (positive: the organisation owes; negative: it is owed)."""
        rows = self.values("currency").annotate(total=Sum("amount")).order_by("currency")
        return {row["currency"]: row["total"] for row in rows}


class LedgerEntry(models.Model):
    """One money movement, written once. The trigger in migration 0002 refuses UPDATE/DELETE."""

    class Kind(models.TextChoices):
        CHARGE = "charge", _("Charge")
        PAYMENT = "payment", _("Payment")
        REFUND = "refund", _("Refund")
        ADJUSTMENT = "adjustment", _("Adjustment")

    organisation = models.ForeignKey(
        "clearance.Organisation", on_delete=models.PROTECT, related_name="ledger_entries"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    amount = money_field(
        _("amount"), help_text=_("Positive: owed by the organisation; negative: settled.")
    )
    currency = models.CharField(_("currency"), max_length=3)
    declaration = models.ForeignKey(
        "declarations.Declaration",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_entries",
    )
    payment = models.ForeignKey(
        "Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    refund = models.ForeignKey(
        "Refund", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    deferred = models.BooleanField(
        _("deferred"), default=False, help_text=_("A charge put on the monthly statement.")
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    version = models.PositiveIntegerField(
        _("declaration version"),
        null=True,
        blank=True,
        help_text=_("For a charge: the version of the declaration whose assessment it charges."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = LedgerQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind__in=["charge", "refund"], amount__gt=0)
                    | Q(kind__in=["payment", "adjustment"], amount__lt=0)
                ),
                name="ledger_amount_sign",
            ),
            # One charge per version of a declaration: charging is idempotent by constraint. A
            # later version whose assessment asks more is charged the difference.
            models.UniqueConstraint(
                fields=["declaration", "version"],
                condition=Q(kind="charge"),
                name="ledger_one_charge_per_version",
            ),
            models.UniqueConstraint(
                fields=["payment"], condition=Q(kind="payment"), name="ledger_one_payment"
            ),
            models.UniqueConstraint(
                fields=["refund"], condition=Q(kind="refund"), name="ledger_one_refund"
            ),
        ]
        indexes = [models.Index(fields=["organisation", "kind", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ServiceError("Ledger entries are never changed.", code="append_only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ServiceError("Ledger entries are never deleted.", code="append_only")


# --- Payments --------------------------------------------------------------------------------


class Payment(models.Model):
    """One attempt to pay a declaration's assessment or a statement through a provider."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the payment provider")
        SETTLED = "settled", _("Paid")
        FAILED = "failed", _("Failed")

    organisation = models.ForeignKey(
        "clearance.Organisation", on_delete=models.PROTECT, related_name="payments"
    )
    declaration = models.ForeignKey(
        "declarations.Declaration",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
    )
    statement = models.ForeignKey(
        "Statement", null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    amount = money_field(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    provider = models.CharField(_("provider"), max_length=30)
    reference = models.CharField(
        _("payment reference"),
        max_length=64,
        unique=True,
        help_text=_("Our reference, sent to the provider and echoed in its callbacks."),
    )
    provider_reference = models.CharField(
        _("provider's reference"),
        max_length=255,
        blank=True,
        help_text=_("The provider's id of this payment (a checkout session), to ask its state."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    settled_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    receipt = models.FileField(_("receipt"), upload_to="receipts/%Y/%m/", blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(declaration__isnull=False) ^ Q(statement__isnull=False),
                name="payment_pays_one_thing",
            ),
            # At most one open payment per declaration, and one open or settled per statement:
            # paying twice at once is refused by the database, whatever the timing. A
            # declaration may have a second, settled payment: the balance after an amendment
            # raised what is due (``payment_start`` asks only for what is still outstanding).
            models.UniqueConstraint(
                fields=["declaration"],
                condition=Q(status="pending"),
                name="payment_one_open_per_declaration",
            ),
            models.UniqueConstraint(
                fields=["statement"],
                condition=Q(status__in=["pending", "settled"]),
                name="payment_one_live_per_statement",
            ),
        ]

    def __str__(self) -> str:
        return self.reference


class ProviderEvent(models.Model):
    """A callback the provider sent, stored once: its event id is unique per provider."""

    provider = models.CharField(max_length=30)
    event_id = models.CharField(max_length=100)
    kind = models.CharField(max_length=50)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    outcome = models.CharField(max_length=30)
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="provider_event_unique")
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.event_id}"


# --- Deferred accounts and statements ---------------------------------------------------------


class DeferredAccount(models.Model):
    """An approved organisation whose declarations are released before payment."""

    organisation = models.OneToOneField(
        "clearance.Organisation", on_delete=models.PROTECT, related_name="deferred_account"
    )
    approved_at = models.DateTimeField(_("approved at"), default=timezone.now)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    suspended_at = models.DateTimeField(_("suspended at"), null=True, blank=True)
    suspended_reason = models.CharField(_("reason for suspension"), max_length=300, blank=True)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return str(self.organisation_id)

    @property
    def is_active(self) -> bool:
        return self.suspended_at is None


class Statement(models.Model):
    """A month's deferred charges of one organisation in one currency, paid as one payment."""

    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued")
        PAID = "paid", _("Paid")
        OVERDUE = "overdue", _("Overdue")

    organisation = models.ForeignKey(
        "clearance.Organisation", on_delete=models.PROTECT, related_name="statements"
    )
    period = models.DateField(_("month"), help_text=_("The first day of the month it covers."))
    currency = models.CharField(_("currency"), max_length=3)
    total = money_field(_("total"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ISSUED
    )
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    due_on = models.DateField(_("due on"))
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    document = models.FileField(_("statement PDF"), upload_to="statements/%Y/%m/", blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-period", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "period", "currency"], name="statement_unique_month"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.period:%Y-%m} {self.currency}"


class StatementLine(models.Model):
    """One deferred charge on a statement; a charge is on one statement only."""

    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="lines")
    charge = models.OneToOneField(
        LedgerEntry, on_delete=models.PROTECT, related_name="statement_line"
    )
    declaration = models.ForeignKey(
        "declarations.Declaration", on_delete=models.PROTECT, related_name="+"
    )
    amount = money_field(_("amount"))

    class Meta:
        ordering = ["statement", "id"]

    def __str__(self) -> str:
        return f"{self.statement_id}: {self.amount}"


# --- Refunds ---------------------------------------------------------------------------------


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    UNDER_REVIEW = "under_review", _("Under review")
    AWAITING_SUPERVISOR = "awaiting_supervisor", _("Waiting for a supervisor")
    APPROVED = "approved", _("Approved")
    PAID = "paid", _("Paid")
    REJECTED = "rejected", _("Rejected")


RS = RefundStatus

# Every allowed move of a refund, and only these. "Approved" is reached automatically (rules),
# by an officer, or, above the supervisor threshold, by a supervisor after an officer.
REFUND_TRANSITIONS: dict[str, frozenset[str]] = {
    RS.REQUESTED: frozenset({RS.APPROVED, RS.UNDER_REVIEW}),
    RS.UNDER_REVIEW: frozenset({RS.APPROVED, RS.AWAITING_SUPERVISOR, RS.REJECTED}),
    RS.AWAITING_SUPERVISOR: frozenset({RS.APPROVED, RS.REJECTED}),
    RS.APPROVED: frozenset({RS.PAID}),
    RS.PAID: frozenset(),
    RS.REJECTED: frozenset(),
}

# A refund in these states holds its amount against what was paid.
REFUND_HOLDING = frozenset(
    {RS.REQUESTED, RS.UNDER_REVIEW, RS.AWAITING_SUPERVISOR, RS.APPROVED, RS.PAID}
)

# A refund in these states waits for an officer's (or a supervisor's) decision.
REFUND_AWAITING_DECISION = frozenset({RS.UNDER_REVIEW, RS.AWAITING_SUPERVISOR})


REFUND_WORKFLOW = Workflow(_("refund"), RefundStatus, REFUND_TRANSITIONS)


class Refund(models.Model):
    class Reason(models.TextChoices):
        RETURNED = "returned", _("Goods returned to the seller")
        OVERPAYMENT = "overpayment", _("Overpayment after a reassessment")
        REJECTED_GOODS = "rejected_goods", _("Goods rejected or destroyed")
        DUPLICATE = "duplicate", _("Duplicate payment")

    organisation = models.ForeignKey(
        "clearance.Organisation", on_delete=models.PROTECT, related_name="refunds"
    )
    declaration = models.ForeignKey(
        "declarations.Declaration", on_delete=models.PROTECT, related_name="refunds"
    )
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    amount = money_field(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(
        _("status"), max_length=20, choices=RefundStatus.choices, default=RS.REQUESTED
    )
    return_tracking_number = models.CharField(
        _("return tracking number"),
        max_length=50,
        blank=True,
        help_text=_("The tracking number of the parcel sent back (returned goods)."),
    )
    explanation = models.TextField(_("explanation"), max_length=2000, blank=True)
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The officer who approved it."),
    )
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The supervisor who approved it as well (above the threshold)."),
    )
    auto_approved = models.BooleanField(_("approved automatically"), default=False)
    decision_note = models.CharField(_("note"), max_length=500, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    payout_reference = models.CharField(
        _("payout reference"), max_length=100, null=True, blank=True, unique=True
    )
    receipt = models.FileField(_("receipt"), upload_to="refunds/%Y/%m/", blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=RefundStatus.values), name="refund_status_valid"
            ),
            # Two different people above the threshold.
            models.CheckConstraint(
                condition=Q(supervisor__isnull=True)
                | Q(approved_by__isnull=True)
                | ~Q(supervisor=models.F("approved_by")),
                name="refund_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pk} {self.reason} {self.amount} {self.currency}"

    @property
    def is_open(self) -> bool:
        return self.status in (RS.REQUESTED, RS.UNDER_REVIEW, RS.AWAITING_SUPERVISOR)


class RefundEvidence(models.Model):
    """A photo or document backing a refund request (export evidence, a return receipt)."""

    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="evidence")
    file = models.FileField(upload_to="refund-evidence/%Y/%m/")
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["refund", "id"]

    def __str__(self) -> str:
        return self.original_name


class SandboxPayout(models.Model):
    """What the sandbox provider "sent": one row per payout call, never deduplicated, so a
    double payout would show as two rows."""

    refund_id = models.PositiveBigIntegerField()
    amount = money_field("amount")
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.reference
