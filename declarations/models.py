"""Declarations, their item lines, frozen versions, status changes, documents, CSV files and
the events a filer may see.

The status machine is data (``TRANSITIONS``) with one guard (``check_transition``); every move
writes a ``StatusChange`` row (who, when, from, to) that the timeline shows.
"""

from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models.functions import Replace, Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from clearance.models import ActorHistory, Purpose, TransportMode
from clearance.workflow import Workflow


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    # Submitted, but not assessed: no regime or exchange rate was in force on its date. It
    # waits for what is missing and is assessed again on its own (``held_reassess``); until
    # then it is never scored, paid or released.
    HELD = "held", _("Held: not yet assessed")
    UNDER_REVIEW = "under_review", _("Under review")
    INFO_REQUESTED = "info_requested", _("Information requested")
    AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
    RELEASED = "released", _("Released")
    REJECTED = "rejected", _("Rejected")
    SEIZED = "seized", _("Seized")
    CANCELLED = "cancelled", _("Cancelled")


S = Status

# Every allowed move, and only these. An amendment before release moves a declaration back to
# ``submitted`` (a new version is assessed and scored again), or to ``held`` when the new
# version cannot be assessed, hence the "→ submitted, held" entries. Nothing leaves ``held``
# but an assessment (to ``submitted``), another held version, or the filer's cancellation.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.SUBMITTED, S.HELD, S.CANCELLED}),
    S.SUBMITTED: frozenset(
        {
            S.SUBMITTED,
            S.HELD,
            S.UNDER_REVIEW,
            S.INFO_REQUESTED,
            S.AWAITING_PAYMENT,
            S.RELEASED,
            S.REJECTED,
            S.SEIZED,
            S.CANCELLED,
        }
    ),
    S.HELD: frozenset({S.SUBMITTED, S.HELD, S.CANCELLED}),
    S.UNDER_REVIEW: frozenset(
        {
            S.SUBMITTED,
            S.HELD,
            S.INFO_REQUESTED,
            S.AWAITING_PAYMENT,
            S.RELEASED,
            S.REJECTED,
            S.SEIZED,
            S.CANCELLED,
        }
    ),
    S.INFO_REQUESTED: frozenset(
        {S.SUBMITTED, S.HELD, S.UNDER_REVIEW, S.REJECTED, S.SEIZED, S.CANCELLED}
    ),
    S.AWAITING_PAYMENT: frozenset(
        {S.SUBMITTED, S.HELD, S.UNDER_REVIEW, S.RELEASED, S.REJECTED, S.SEIZED, S.CANCELLED}
    ),
    S.RELEASED: frozenset(),
    # Only a supervisor's reversal of the decision moves these back, to review again.
    S.REJECTED: frozenset({S.UNDER_REVIEW}),
    S.SEIZED: frozenset({S.UNDER_REVIEW}),
    S.CANCELLED: frozenset(),
}

# The filer may change (amend) or cancel a declaration in these statuses: before a decision.
OPEN_STATUSES = frozenset(
    {S.SUBMITTED, S.HELD, S.UNDER_REVIEW, S.INFO_REQUESTED, S.AWAITING_PAYMENT}
)


WORKFLOW = Workflow(_("declaration"), Status, TRANSITIONS)
# The guard every move of a declaration goes through (``clearance.workflow``), told the status
# (or statuses) the move was decided from with ``leaving=``.
check_transition = WORKFLOW.check


class Lane(models.TextChoices):
    GREEN = "green", _("Green")
    YELLOW = "yellow", _("Yellow")
    RED = "red", _("Red")


MONEY_DIGITS = 18
MONEY_PLACES = 4  # enough for any ISO 4217 minor unit


class DeclarationQuerySet(models.QuerySet["Declaration"]):
    def of(self, organisation_ids: Any) -> "DeclarationQuerySet":
        return self.filter(organisation_id__in=organisation_ids)

    def search(self, words: str) -> "DeclarationQuerySet":
        words = words.strip()
        if not words:
            return self
        return self.filter(
            models.Q(reference__icontains=words)
            | models.Q(system_reference__icontains=words)
            | models.Q(transport_document__icontains=words)
            | models.Q(consignee_name__icontains=words)
        )


class Declaration(models.Model):
    """A low-value import declaration as its filer sees it now (the draft or latest version)."""

    # Indexed by the composite indexes below, which all start with it.
    organisation = models.ForeignKey(
        "clearance.Organisation",
        on_delete=models.PROTECT,
        related_name="declarations",
        db_index=False,
    )
    reference = models.CharField(
        _("your reference"),
        max_length=35,
        help_text=_("Your own reference for this declaration, unique in your organisation."),
    )
    system_reference = models.CharField(_("system reference"), max_length=20, unique=True)
    transport_mode = models.CharField(
        _("transport mode"), max_length=10, choices=TransportMode.choices, blank=True
    )
    transport_document = models.CharField(
        _("transport document"),
        max_length=50,
        blank=True,
        help_text=_("Tracking number or house air waybill."),
    )
    carrier = models.CharField(_("carrier"), max_length=100, blank=True)
    marketplace = models.CharField(_("marketplace"), max_length=100, blank=True)
    order_reference = models.CharField(_("order reference"), max_length=50, blank=True)
    purpose = models.CharField(_("purpose"), max_length=12, choices=Purpose.choices, blank=True)
    seller_name = models.CharField(_("seller name"), max_length=200, blank=True)
    seller_address = models.CharField(_("seller address"), max_length=300, blank=True)
    seller_country = models.CharField(_("seller country"), max_length=2, blank=True)
    consignee_name = models.CharField(_("consignee name"), max_length=200, blank=True)
    consignee_address = models.CharField(_("consignee address"), max_length=300, blank=True)
    consignee_country = models.CharField(_("consignee country"), max_length=2, blank=True)
    consignee_id_number = models.CharField(
        _("consignee identification number"), max_length=50, blank=True
    )
    arrival_office = models.CharField(_("arrival office"), max_length=50, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    shipping_cost = models.DecimalField(
        _("shipping cost"), max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, default=Decimal(0)
    )
    insurance_cost = models.DecimalField(
        _("insurance cost"),
        max_digits=MONEY_DIGITS,
        decimal_places=MONEY_PLACES,
        default=Decimal(0),
    )
    tax_collected_at_sale = models.BooleanField(_("tax collected at sale"), default=False)
    vendor_tax_id = models.CharField(_("vendor tax registration number"), max_length=50, blank=True)

    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    lane = models.CharField(_("lane"), max_length=10, choices=Lane.choices, blank=True)
    version = models.PositiveIntegerField(
        _("version"), default=0, help_text=_("The number of the latest submitted version.")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_key = models.ForeignKey(
        "clearance.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # History is read by declaration, date and actor; indexes on the other copied columns
    # would only slow the writes (scoring writes thousands of history rows a second).
    history = HistoricalRecords(
        bases=[ActorHistory],
        no_db_index=["system_reference", "organisation", "created_by", "created_by_key"],
    )
    objects = DeclarationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "reference"], name="declaration_reference_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=Status.values), name="declaration_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "status", "created_at"]),
            # A filer's declarations in the order they were submitted: the new-filer rule reads
            # the first few of an organisation however many it has filed since.
            models.Index(
                fields=["organisation", "submitted_at", "id"], name="declaration_filer_order"
            ),
            # The few declarations waiting to be scored, for the workers and the sweeper.
            models.Index(
                fields=["id"],
                condition=models.Q(status="submitted"),
                name="declaration_waiting",
            ),
            # The few held for a missing rate or regime, assessed again when it arrives.
            models.Index(
                fields=["id"],
                condition=models.Q(status="held"),
                name="declaration_held",
            ),
            models.Index(fields=["consignee_id_number"]),
            models.Index(fields=["consignee_name"]),
            # Parcel tracking finds a transport document ignoring case and spaces.
            models.Index(
                Upper(Replace("transport_document", models.Value(" "), models.Value(""))),
                name="declaration_tracking",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.system_reference} ({self.reference})"

    @property
    def is_editable(self) -> bool:
        """A draft is edited; an open declaration is amended (a new version)."""
        return self.status == Status.DRAFT or self.status in OPEN_STATUSES

    @property
    def is_cancellable(self) -> bool:
        return Status.CANCELLED in TRANSITIONS[self.status]

    @property
    def latest_version(self) -> "DeclarationVersion | None":
        return self.versions.order_by("-number").first()


class Line(models.Model):
    """One item line. Draft lines may be incomplete; a submitted version's lines are not."""

    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="lines")
    number = models.PositiveSmallIntegerField()
    description = models.CharField(_("description"), max_length=300, blank=True)
    hs_code = models.CharField(_("HS code"), max_length=6, blank=True)
    quantity = models.DecimalField(
        _("quantity"), max_digits=14, decimal_places=3, null=True, blank=True
    )
    unit = models.CharField(_("unit"), max_length=10, blank=True, default="pcs")
    value = models.DecimalField(
        _("value"), max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, null=True, blank=True
    )
    origin_country = models.CharField(_("origin country"), max_length=2, blank=True)
    gross_mass_kg = models.DecimalField(
        _("gross mass (kg)"), max_digits=12, decimal_places=3, null=True, blank=True
    )
    product_url = models.URLField(_("product URL"), max_length=500, blank=True)

    class Meta:
        ordering = ["declaration", "number"]
        constraints = [
            models.UniqueConstraint(fields=["declaration", "number"], name="line_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.number}: {self.description}"


class DeclarationVersion(models.Model):
    """What was submitted, frozen: the declaration's data and its assessment, never changed.

    ``data`` holds the declaration in the API's shape (lines included); ``assessment`` is the
    assessment's own dictionary, with its totals copied into columns for queries.
    """

    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    data = models.JSONField()
    assessment = models.JSONField()
    customs_value = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    total_due = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    assessment_currency = models.CharField(max_length=3)
    eligible = models.BooleanField()
    held = models.BooleanField()
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_key = models.ForeignKey(
        "clearance.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["declaration", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["declaration", "number"], name="declaration_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.declaration_id} v{self.number}"


class StatusChange(models.Model):
    """One move of a declaration's status: the timeline, and the audit of who moved it."""

    declaration = models.ForeignKey(
        Declaration, on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Status.choices)
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by_key = models.ForeignKey(
        "clearance.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["declaration", "at", "id"]

    def __str__(self) -> str:
        return f"{self.declaration_id}: {self.from_status} → {self.to_status}"

    @property
    def actor(self) -> str:
        if self.by_key_id is not None and self.by_key is not None:
            return str(_("API key %(name)s") % {"name": self.by_key})
        if self.by is not None:
            return self.by.get_full_name()
        return str(_("the system"))


class Document(models.Model):
    """An invoice or a photo, stored under a generated name; served only as an attachment."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        PHOTO = "photo", _("Photo")
        OTHER = "other", _("Other")

    MAX_BYTES = 10 * 1024 * 1024
    CONTENT_TYPES: ClassVar[dict[str, str]] = {
        "pdf": "application/pdf",
        "jpeg": "image/jpeg",
        "png": "image/png",
    }

    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    file = models.FileField(upload_to="declarations/%Y/%m/")
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_by_key = models.ForeignKey(
        "clearance.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords(bases=[ActorHistory])

    class Meta:
        ordering = ["declaration", "uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name


class CsvUpload(models.Model):
    """A CSV file of declarations: checked first (a preview of every row's errors), then,
    once the filer confirms, imported whole or only its valid declarations."""

    class State(models.TextChoices):
        CHECKING = "checking", _("Checking")
        CHECKED = "checked", _("Checked")
        IMPORTING = "importing", _("Importing")
        IMPORTED = "imported", _("Imported")
        FAILED = "failed", _("Failed")

    organisation = models.ForeignKey(
        "clearance.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    file = models.FileField(upload_to="uploads/%Y/%m/")
    original_name = models.CharField(max_length=255)
    state = models.CharField(max_length=10, choices=State.choices, default=State.CHECKING)
    submit = models.BooleanField(default=False)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    valid_declarations = models.PositiveIntegerField(default=0)
    invalid_declarations = models.PositiveIntegerField(default=0)
    imported_declarations = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    failure = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_key = models.ForeignKey(
        "clearance.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords(bases=[ActorHistory])

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.original_name


class CurrentTransaction(models.Func):
    """The id of the transaction that writes the row (PostgreSQL's ``pg_current_xact_id``)."""

    template = "(pg_current_xact_id()::text::bigint)"
    output_field = models.BigIntegerField()


class Event(models.Model):
    """One change a filer may see, written in the same transaction as the change: the outbox
    that the event feed reads and webhooks deliver (``declarations.events``).

    It names the declaration (its references are read from it) and the new state, and for a
    held declaration the reason. It never carries a lane, a score or an officer's notes.
    ``tx`` orders the feed so that an event never appears behind a cursor already read.
    """

    tx = models.BigIntegerField(db_default=CurrentTransaction(), editable=False)
    # The feed's index (organisation, tx, id) serves lookups by organisation too.
    organisation = models.ForeignKey(
        "clearance.Organisation", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="events")
    # A refund's id for its events (refunds sit above this app, so no foreign key points there).
    refund_id = models.PositiveBigIntegerField(null=True, blank=True)
    type = models.CharField(max_length=40)
    state = models.CharField(max_length=20)
    reason = models.CharField(max_length=500, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["organisation", "tx", "id"], name="event_feed"),
            # The webhook relay reads every organisation's events in feed order.
            models.Index(fields=["tx", "id"], name="event_relay"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.declaration_id}"


# Webhook endpoints and their deliveries, kept in a module of their own.
from declarations.webhook_models import WebhookAttempt as WebhookAttempt  # noqa: E402
from declarations.webhook_models import WebhookDelivery as WebhookDelivery  # noqa: E402
from declarations.webhook_models import WebhookEndpoint as WebhookEndpoint  # noqa: E402
from declarations.webhook_models import WebhookRelay as WebhookRelay  # noqa: E402
