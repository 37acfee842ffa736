"""The core's tables: accounts, organisations and roles; machine clients' API keys and
idempotency records; notifications; and the low-value mode's regimes, tariff and exchange rates.

Their managers and query sets are in ``clearance.managers``.
"""

import hashlib
import hmac
import secrets
from typing import ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

# Migrations name the user manager as clearance.models.UserManager: keep it imported here.
from clearance.managers import ApiKeyQuerySet, NotificationQuerySet, RegimeQuerySet, UserManager


class Role(models.TextChoices):
    """Staff roles are Django groups, created by a data migration."""

    OFFICER = "officer", _("Officer")
    SUPERVISOR = "supervisor", _("Supervisor")
    EDITOR = "editor", _("Editor")
    ADMINISTRATOR = "administrator", _("Administrator")


class User(AbstractUser):
    """A person who signs in with an email address.

    A seller belongs to organisations through ``Membership``; staff hold roles as groups.
    ``is_active`` stays false until a self-registered user confirms the address.
    """

    username = None  # type: ignore[assignment]
    first_name = None  # type: ignore[assignment]
    last_name = None  # type: ignore[assignment]
    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        help_text=_("Emails and notifications are written in this language."),
    )
    email_verified_at = models.DateTimeField(_("email verified at"), null=True, blank=True)

    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name or self.email

    def has_role(self, *roles: str) -> bool:
        if not self.is_active:
            return False
        if self.is_superuser:
            return True
        return any(role in self.role_names for role in roles)

    @property
    def role_names(self) -> set[str]:
        cached: set[str] | None = getattr(self, "_role_names", None)
        if cached is None:
            cached = set(self.groups.values_list("name", flat=True))
            self._role_names = cached
        return cached

    @property
    def is_staff_member(self) -> bool:
        """Customs staff: anyone holding a staff role (or a superuser)."""
        return self.has_role(*Role.values)


class Organisation(models.Model):
    """A business that files or helps file declarations: a seller, a platform, a carrier."""

    class Kind(models.TextChoices):
        SELLER = "seller", _("Seller (MSME)")
        PLATFORM = "platform", _("Platform")
        CARRIER = "carrier", _("Carrier")
        BROKER = "broker", _("Broker")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    country = models.CharField(
        _("country"), max_length=2, blank=True, help_text=_("ISO 3166-1 alpha-2 code.")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_organisations",
        verbose_name=_("owner"),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="Membership",
        related_name="organisations",
        verbose_name=_("members"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("name"), name="organisation_name_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        MEMBER = "member", _("Member")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organisation} ({self.role})"


# --- Machine clients: API keys and the answers kept for idempotent retries -----------------
# (Tables keep the names they had in the filing app, where these began.)


class ApiKey(models.Model):
    """A secret a platform's system sends as ``Authorization: Bearer KEY``.

    Only the SHA-256 of the key is stored (the key has 256 bits of randomness, so a plain hash
    is enough); the key itself is shown once, when it is made.
    """

    PREFIX_LENGTH = 8

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=PREFIX_LENGTH, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(table_name="declarations_historicalapikey")
    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        db_table = "declarations_apikey"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def digest(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def generate(cls) -> tuple[str, str]:
        """A new (prefix, key) pair; the key starts with its prefix so it can be looked up."""
        prefix = secrets.token_hex(cls.PREFIX_LENGTH // 2)
        return prefix, f"lv_{prefix}_{secrets.token_urlsafe(32)}"

    @staticmethod
    def prefix_of(key: str) -> str | None:
        parts = key.split("_")
        if len(parts) < 3 or parts[0] != "lv" or len(parts[1]) != ApiKey.PREFIX_LENGTH:
            return None
        return parts[1]

    def matches(self, key: str) -> bool:
        return hmac.compare_digest(self.secret_hash, self.digest(key))

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ActorHistory(models.Model):
    """Adds the API key that acted to every history row (the user is simple-history's own)."""

    history_api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        abstract = True


class IdempotencyRecord(models.Model):
    """The first answer to a write sent with an ``Idempotency-Key``.

    The unique constraint is what makes concurrent duplicates safe: a second insert of the same
    key waits for the first transaction and then fails, and the caller returns the stored answer.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(default=0)
    response_body = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "declarations_idempotencyrecord"
        constraints = [
            models.UniqueConstraint(fields=["organisation", "key"], name="idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return self.key


class Notification(models.Model):
    """One event told to one person: shown in the portal, and sent by email once.

    The row is also the email's outbox: ``email_status`` moves pending → sending → sent by
    conditional updates, so a task that runs twice sends the message once.
    """

    class EmailStatus(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Not sent by email")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    event = models.CharField(max_length=100)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    url = models.CharField(max_length=500, blank=True)
    context = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    email_status = models.CharField(
        max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING
    )
    email_sent_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["recipient", "created_at"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread_idx",
            ),
            models.Index(
                fields=["email_status", "created_at"],
                condition=models.Q(email_status__in=["pending", "sending"]),
                name="notification_outbox_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} for {self.recipient}"


# --- The low-value import mode: regimes, tariff, exchange rates -----------------------------


class TransportMode(models.TextChoices):
    POSTAL = "postal", _("Postal")
    EXPRESS = "express", _("Express")
    CARGO = "cargo", _("Cargo")


class Purpose(models.TextChoices):
    PERSONAL = "personal", _("Personal use")
    COMMERCIAL = "commercial", _("Commercial")
    GIFT = "gift", _("Gift")


class Certainty(models.TextChoices):
    HIGH = "high", _("High: official source read")
    MEDIUM = "medium", _("Medium: consistent secondary sources")
    LOW = "low", _("Low: one old secondary source")
    NONE = "none", _("None: not found")


class Regime(models.Model):
    """One economy's low-value import mode for a period: its rules as configuration.

    An economy has one row per period of validity; an assessment reads the row in force on the
    parcel's date, so a change effective tomorrow leaves today's assessments as they were.
    Thresholds are in ``threshold_currency``; duties, taxes and fees in ``local_currency``.
    """

    class ValueBasis(models.TextChoices):
        GOODS = "goods", _("Goods only (purchase price)")
        CIF = "cif", _("Goods with shipping and insurance")

    class CollectionModel(models.TextChoices):
        BORDER = "border", _("Collected at the border")
        VENDOR = "vendor", _("Collected at sale by a registered vendor")

    economy = models.CharField(
        _("economy"), max_length=2, help_text=_("ISO 3166-1 alpha-2 code of the economy.")
    )
    name = models.CharField(_("name"), max_length=200)
    local_currency = models.CharField(
        _("local currency"), max_length=3, help_text=_("Duty, tax and fees are due in it.")
    )
    threshold_currency = models.CharField(
        _("threshold currency"), max_length=3, help_text=_("The limits below are in it.")
    )
    duty_free_up_to = models.DecimalField(
        _("duty free up to"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_(
            "A parcel valued at or below this owes no duty. Empty: no limit; 0: no relief."
        ),
    )
    tax_free_up_to = models.DecimalField(
        _("tax free up to"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("A parcel valued at or below this owes no tax. Empty: no limit; 0: no relief."),
    )
    transaction_cap = models.DecimalField(
        _("transaction cap"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("A parcel valued above this cannot use the low-value mode at all."),
    )
    value_basis = models.CharField(
        _("value basis"), max_length=10, choices=ValueBasis.choices, default=ValueBasis.GOODS
    )
    personal_use_percent = models.DecimalField(
        _("taxable value for personal use (%)"),
        max_digits=6,
        decimal_places=2,
        default=100,
        help_text=_("Share of the retail price taken as the value of goods for personal use."),
    )
    tax_rate = models.DecimalField(
        _("tax rate (%)"),
        max_digits=6,
        decimal_places=3,
        default=0,
        help_text=_("Charged on the customs value plus duty."),
    )
    default_duty_rate = models.DecimalField(
        _("default duty rate (%)"),
        max_digits=6,
        decimal_places=3,
        default=0,
        help_text=_("Used for goods no tariff line covers."),
    )
    collection_model = models.CharField(
        _("collection model"),
        max_length=10,
        choices=CollectionModel.choices,
        default=CollectionModel.BORDER,
    )
    vendor_collection_up_to = models.DecimalField(
        _("vendor collection up to"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Vendors collect the tax at sale on parcels valued at or below this."),
    )
    vendor_tax_id_pattern = models.CharField(
        _("vendor tax number pattern"),
        max_length=200,
        blank=True,
        help_text=_("Regular expression a registered vendor's tax number must match."),
    )
    excluded_hs_prefixes = models.JSONField(
        _("excluded goods (HS prefixes)"),
        default=list,
        blank=True,
        help_text=_("Goods whose HS code starts with one of these cannot use the mode."),
    )
    threshold_overrides = models.JSONField(
        _("overrides by origin"),
        default=list,
        blank=True,
        help_text=_(
            'Other limits for some parcels, first match wins: a list of {"origins": ["US"], '
            '"basis": "shipped_from" or "goods_origin", "transport_modes": [], "purposes": [], '
            '"duty_free_up_to": "200", "tax_free_up_to": "200", "note": "..."}.'
        ),
    )
    aggregation_rules = models.JSONField(
        _("aggregation rules"),
        default=list,
        blank=True,
        help_text=_(
            'Rules across one consignee\'s parcels: a list of {"kind": "combine", "value_cap" '
            'or "count_cap", "period": "day", "half_year" or "year", "limit": "6"}.'
        ),
    )
    consignee_id_required = models.BooleanField(
        _("consignee identification required"), default=False
    )
    consignee_id_pattern = models.CharField(
        _("consignee identification pattern"),
        max_length=200,
        blank=True,
        help_text=_("Regular expression the consignee's identification number must match."),
    )
    handling_fee = models.DecimalField(
        _("handling fee"),
        max_digits=14,
        decimal_places=2,
        default=0,
        help_text=_("Charged per declaration, in the local currency."),
    )
    waive_below = models.DecimalField(
        _("waive duty and tax below"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Duty plus tax below this amount (local currency) is not collected."),
    )
    eligible_transport_modes = models.JSONField(
        _("eligible transport modes"),
        default=list,
        blank=True,
        help_text=_("Transport modes that may use the mode: postal, express, cargo."),
    )
    exchange_rate_days = models.PositiveSmallIntegerField(
        _("exchange rate in force (days)"),
        default=4,
        help_text=_(
            "A published exchange rate applies for this many days, or until a newer one is "
            "published: 4 for daily rates (a weekend and a holiday), 7 for weekly customs "
            "rates, 92 for quarterly ones. An older rate is not used: the parcel is held."
        ),
    )
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(
        _("effective to"), null=True, blank=True, help_text=_("Last day in force; empty: open.")
    )
    notes = models.TextField(_("notes"), blank=True)
    source = models.CharField(_("source"), max_length=300, blank=True)
    certainty = models.CharField(
        _("certainty"), max_length=10, choices=Certainty.choices, default=Certainty.NONE
    )

    history = HistoricalRecords()
    objects = RegimeQuerySet.as_manager()

    class Meta:
        ordering = ["economy", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["economy", "effective_from"], name="regime_economy_from_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(effective_to__isnull=True)
                | models.Q(effective_to__gte=models.F("effective_from")),
                name="regime_period_ordered",
            ),
            models.CheckConstraint(
                condition=models.Q(personal_use_percent__gt=0, personal_use_percent__lte=100),
                name="regime_personal_use_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.economy} {self.name} from {self.effective_from}"


class TariffRate(models.Model):
    """A duty rate for goods whose HS code starts with ``hs_prefix``; the longest prefix wins."""

    economy = models.CharField(_("economy"), max_length=2)
    hs_prefix = models.CharField(
        _("HS prefix"), max_length=6, help_text=_("Chapter (2), heading (4) or subheading (6).")
    )
    rate = models.DecimalField(_("ad valorem rate (%)"), max_digits=6, decimal_places=3)
    specific_amount = models.DecimalField(
        _("specific amount per unit"),
        max_digits=14,
        decimal_places=4,
        default=0,
        help_text=_("Added per unit of quantity, in the local currency."),
    )
    description = models.CharField(_("description"), max_length=300, blank=True)
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(_("effective to"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["economy", "hs_prefix", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["economy", "hs_prefix", "effective_from"],
                name="tariff_rate_prefix_from_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(hs_prefix__regex=r"^([0-9]{2}|[0-9]{4}|[0-9]{6})$"),
                name="tariff_rate_prefix_digits",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.economy} {self.hs_prefix} {self.rate}%"


class ExchangeRate(models.Model):
    """``rate`` units of ``currency`` buy one unit of ``base``, published for ``date``.

    The ECB publishes with base EUR; any other pair is a cross rate through a common base.
    ``source`` says where the rate came from (the feed's address, a file) and ``fetched_at``
    when. A demo rate (``carried_from`` set) is no published rate at all: the newest real rate,
    carried forward to a later day so that a demo on a closed network can assess today's
    parcels. Only a portal with DEBUG on makes them, and everything that uses one says so.
    """

    date = models.DateField(_("date"))
    base = models.CharField(_("base currency"), max_length=3)
    currency = models.CharField(_("currency"), max_length=3)
    rate = models.DecimalField(_("rate"), max_digits=24, decimal_places=10)
    source = models.CharField(_("source"), max_length=300, blank=True)
    fetched_at = models.DateTimeField(_("fetched at"), null=True, blank=True)
    carried_from = models.DateField(
        _("demo rate carried forward from"),
        null=True,
        blank=True,
        help_text=_("Set on demo rates only: the date of the real rate they repeat."),
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["base", "currency", "date"], name="exchange_rate_pair_date_unique"
            ),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="exchange_rate_positive"),
        ]
        indexes = [models.Index(fields=["currency", "date"], name="exchange_rate_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.date} 1 {self.base} = {self.rate} {self.currency}"
