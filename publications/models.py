"""Publications, their versions, consultations on proposed versions, comments and subscriptions.

A publication (a law, a procedure, a returns policy...) is a series of versions. Each version
has one language; a translation is a version in another language. The public reads the versions
that were published (the current one and those it superseded), and a proposed version once its
consultation has opened. Each published version says from which date it applies, so the text in
force on any day can be found again later.
"""

from datetime import date, timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import (
    SearchHeadline,
    SearchQuery,
    SearchRank,
    SearchVectorField,
)
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from clearance.workflow import Workflow
from publications import markdown
from publications.figures import fill as fill_figures

MARK_START = "\ue000"
MARK_STOP = "\ue001"


class Topic(models.Model):
    slug = models.SlugField(_("slug"), unique=True)
    name = models.CharField(_("name"), max_length=120)
    name_ko = models.CharField(_("name in Korean"), max_length=120, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("publications:index") + f"?topic={self.slug}"

    def label(self, language: str) -> str:
        return self.name_ko if language == "ko" and self.name_ko else self.name


class Publication(models.Model):
    class Kind(models.TextChoices):
        LAW = "law", _("Law")
        REGULATION = "regulation", _("Regulation")
        PROCEDURE = "procedure", _("Procedure")
        GUIDELINE = "guideline", _("Guideline")
        RETURNS_POLICY = "returns_policy", _("Returns policy")
        SPECIAL_REQUIREMENT = "special_requirement", _("Special requirement")
        FACILITATION = "facilitation", _("Facilitation")
        TRAINING = "training", _("Training material")
        FAQ = "faq", _("Frequently asked questions")

    slug = models.SlugField(_("slug"), unique=True, max_length=120)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    topics = models.ManyToManyField(Topic, related_name="publications", blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    def get_absolute_url(self) -> str:
        return reverse("publications:detail", args=[self.slug])

    def in_force(self, *, on: date, language: str) -> "Version | None":
        """The version of this language in force on ``on``: of those published (current or
        superseded), the one with the latest effective date on or before ``on`` (the last one
        published, when two apply from the same day)."""
        return (
            self.versions.public()
            .filter(language=language, effective_date__lte=on)
            .order_by("-effective_date", "-published_at", "-number")
            .first()
        )

    def languages(self) -> list[str]:
        return sorted(set(self.versions.public().values_list("language", flat=True)))


class VersionQuerySet(models.QuerySet["Version"]):
    def public(self) -> "VersionQuerySet":
        """Versions that were published at some time (the current one and those it replaced)."""
        return self.filter(status__in=[Version.Status.PUBLISHED, Version.Status.SUPERSEDED])

    def current(self) -> "VersionQuerySet":
        return self.filter(status=Version.Status.PUBLISHED)

    def search(self, words: str, *, language: str = "") -> "VersionQuerySet":
        """Current texts matching ``words``, best first, with a highlighted ``snippet``.

        English texts are indexed with English stemming, Korean ones word by word; without a
        ``language``, a query is read both ways so one search finds both. The snippet marks hits
        with private-use characters so the view can escape the text and then turn those into
        ``<mark>``.
        """
        english = SearchQuery(words, search_type="websearch", config="english")
        simple = SearchQuery(words, search_type="websearch", config="simple")
        query = english if language == "en" else simple if language == "ko" else english | simple
        found = self.current().filter(search_vector=query)
        if language:
            found = found.filter(language=language)
        return found.annotate(
            rank=SearchRank(F("search_vector"), query),
            snippet=SearchHeadline(
                "plain_text",
                query,
                config=F("search_config"),
                start_sel=MARK_START,
                stop_sel=MARK_STOP,
                max_fragments=2,
                max_words=30,
                min_words=10,
            ),
        ).order_by("-rank", "-published_at")


class Version(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PROPOSED = "proposed", _("Proposed")
        PUBLISHED = "published", _("Published")
        SUPERSEDED = "superseded", _("Superseded")

    class Change(models.TextChoices):
        MAJOR = "major", _("Major change")
        MINOR = "minor", _("Minor change")

    # The one table of legal moves; Version.WORKFLOW.check refuses any other.
    TRANSITIONS: ClassVar[dict[str, set[str]]] = {
        Status.DRAFT: {Status.PROPOSED, Status.PUBLISHED},
        Status.PROPOSED: {Status.PUBLISHED, Status.DRAFT},
        Status.PUBLISHED: {Status.SUPERSEDED},
        Status.SUPERSEDED: set(),
    }
    WORKFLOW: ClassVar[Workflow] = Workflow(_("version"), Status, TRANSITIONS)

    publication = models.ForeignKey(Publication, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(
        _("number"), help_text=_("Counts the versions of one publication in one language.")
    )
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    title = models.CharField(_("title"), max_length=250)
    summary = models.TextField(_("summary"), blank=True)
    body = models.TextField(_("text"), help_text=_("Markdown. Each heading starts a section."))
    body_html = models.TextField(editable=False, blank=True)
    plain_text = models.TextField(editable=False, blank=True)
    figures = models.JSONField(
        default=dict,
        editable=False,
        blank=True,
        help_text=_("The figures the stored text was rendered with, by placeholder name."),
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    effective_date = models.DateField(
        _("effective date"),
        null=True,
        blank=True,
        help_text=_("The day from which this text applies. Required to publish."),
    )
    change_kind = models.CharField(
        _("kind of change"), max_length=10, choices=Change.choices, default=Change.MAJOR
    )
    change_note = models.CharField(_("change note"), max_length=500, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    search_config = models.CharField(max_length=20, default="simple", editable=False)
    search_vector = SearchVectorField(null=True, editable=False)

    history = HistoricalRecords(
        excluded_fields=["search_vector", "body_html", "plain_text", "figures"]
    )
    objects: ClassVar[VersionQuerySet] = VersionQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["publication", "language", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["publication", "language", "number"], name="version_number_unique"
            ),
            # At most one version per publication and language is published: the current text
            # (publishing another supersedes it, whatever day each applies from).
            models.UniqueConstraint(
                fields=["publication", "language"],
                condition=Q(status="published"),
                name="one_published_version_per_language",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["published", "superseded"])
                | Q(effective_date__isnull=False, published_at__isnull=False),
                name="public_version_has_dates",
            ),
        ]
        indexes = [GinIndex(fields=["search_vector"], name="version_search_gin")]

    def __str__(self) -> str:
        return f"{self.publication.slug} {self.language} v{self.number}"

    def get_absolute_url(self) -> str:
        return reverse("publications:version", args=[self.publication.slug, self.pk])

    @property
    def is_public(self) -> bool:
        return self.status in (self.Status.PUBLISHED, self.Status.SUPERSEDED)

    def alert_url(self) -> str:
        """Where an alert about this version sends readers: the text, or its consultation."""
        if not self.is_public and hasattr(self, "consultation"):
            return self.consultation.get_absolute_url()
        return self.publication.get_absolute_url()

    def sections(self) -> list[tuple[str, str]]:
        """The numbered sections of the text, as (anchor, heading) pairs."""
        return markdown.sections(self.body_html)

    def filled_body(self) -> str:
        """The Markdown source with the figures its stored rendering states filled in."""
        return fill_figures(self.body, self.figures)


class Consultation(models.Model):
    class Status(models.TextChoices):
        UPCOMING = "upcoming", _("Upcoming")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")
        CONCLUDED = "concluded", _("Concluded")

    TRANSITIONS: ClassVar[dict[str, set[str]]] = {
        Status.UPCOMING: {Status.OPEN},
        Status.OPEN: {Status.CLOSED},
        Status.CLOSED: {Status.CONCLUDED},
        Status.CONCLUDED: set(),
    }
    WORKFLOW: ClassVar[Workflow] = Workflow(_("consultation"), Status, TRANSITIONS)

    version = models.OneToOneField(Version, on_delete=models.PROTECT, related_name="consultation")
    title = models.CharField(_("title"), max_length=250)
    summary = models.TextField(_("summary"))
    questions = models.TextField(_("questions"), blank=True, help_text=_("One question a line."))
    opens_at = models.DateTimeField(_("opens at"))
    closes_at = models.DateTimeField(_("closes at"))
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.UPCOMING)
    response = models.TextField(
        _("official response"),
        blank=True,
        help_text=_("Markdown. Published with the final version; answers each theme."),
    )
    response_html = models.TextField(editable=False, blank=True)
    response_published_at = models.DateTimeField(null=True, blank=True)
    final_version = models.ForeignKey(
        Version, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords(excluded_fields=["response_html"])

    class Meta:
        ordering = ["-closes_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")),
                name="consultation_closes_after_open",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("publications:consultation", args=[self.pk])

    def status_at(self, when: Any) -> str:
        if when < self.opens_at:
            return self.Status.UPCOMING
        if when < self.closes_at:
            return self.Status.OPEN
        return self.Status.CLOSED

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    def question_list(self) -> list[str]:
        return [q.strip() for q in self.questions.splitlines() if q.strip()]

    def earliest_effective_date(self) -> date:
        """The first day a final version may apply: the close plus the minimum lead time."""
        close_day = timezone.localtime(self.closes_at).date()
        return close_day + timedelta(days=settings.CONSULTATION_MIN_LEAD_DAYS)


class Theme(models.Model):
    """A group of comments that the official response answers as one."""

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="themes")
    title = models.CharField(_("title"), max_length=200)
    answer = models.TextField(_("answer"), blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["consultation", "title"], name="theme_title_unique")
        ]

    def __str__(self) -> str:
        return self.title


class Campaign(models.Model):
    """Identical or near-identical comments on one consultation, grouped so that its page shows
    the campaign and its size; each comment is still shown, and counted, on its own."""

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="campaigns"
    )
    sample = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.sample[:60]


class CommentQuerySet(models.QuerySet["Comment"]):
    def published(self) -> "CommentQuerySet":
        return self.filter(status=Comment.Status.PUBLISHED)


class Comment(models.Model):
    class Status(models.TextChoices):
        UNCONFIRMED = "unconfirmed", _("Waiting for email confirmation")
        PENDING = "pending", _("Waiting for moderation")
        PUBLISHED = "published", _("Published")
        REJECTED = "rejected", _("Rejected")

    class OnBehalf(models.TextChoices):
        INDIVIDUAL = "individual", _("Myself, as an individual")
        ORGANISATION = "organisation", _("An organisation")

    TRANSITIONS: ClassVar[dict[str, set[str]]] = {
        Status.UNCONFIRMED: {Status.PENDING, Status.PUBLISHED},
        Status.PENDING: {Status.PUBLISHED, Status.REJECTED},
        Status.PUBLISHED: {Status.REJECTED},
        Status.REJECTED: {Status.PUBLISHED},
    }
    WORKFLOW: ClassVar[Workflow] = Workflow(_("comment"), Status, TRANSITIONS)

    consultation = models.ForeignKey(
        Consultation, on_delete=models.PROTECT, related_name="comments"
    )
    tracking_number = models.CharField(_("tracking number"), max_length=20, unique=True)
    section = models.CharField(
        _("section"), max_length=40, blank=True, help_text=_("Empty: the whole text.")
    )
    body = models.TextField(_("comment"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email address"))
    language = models.CharField(max_length=10, default="en")
    on_behalf = models.CharField(
        _("commenting for"), max_length=20, choices=OnBehalf.choices, default=OnBehalf.INDIVIDUAL
    )
    organisation_name = models.CharField(_("organisation"), max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices)
    fingerprint = models.CharField(max_length=64, db_index=True, editable=False)
    campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="comments"
    )
    theme = models.ForeignKey(
        Theme, on_delete=models.SET_NULL, null=True, blank=True, related_name="comments"
    )
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    moderated_at = models.DateTimeField(null=True, blank=True)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    flag_count = models.PositiveIntegerField(default=0)

    history = HistoricalRecords()
    objects: ClassVar[CommentQuerySet] = CommentQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["consultation", "status"])]

    def __str__(self) -> str:
        return self.tracking_number

    def get_absolute_url(self) -> str:
        return reverse("publications:consultation", args=[self.consultation_id]) + (
            f"#comment-{self.tracking_number}"
        )

    @property
    def author_label(self) -> str:
        if self.on_behalf == self.OnBehalf.ORGANISATION and self.organisation_name:
            return f"{self.name} ({self.organisation_name})"
        return self.name


def attachment_path(instance: "Attachment", filename: str) -> str:
    return f"publications/comments/{instance.comment.tracking_number}/{filename}"


class Attachment(models.Model):
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path)
    name = models.CharField(max_length=200)
    size = models.PositiveIntegerField()

    def __str__(self) -> str:
        return self.name


class Flag(models.Model):
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="flags")
    reason = models.CharField(_("reason"), max_length=300)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.reason


class Subscription(models.Model):
    class Frequency(models.TextChoices):
        IMMEDIATE = "immediate", _("At once")
        DAILY = "daily", _("A daily digest")

    email = models.EmailField(_("email address"))
    topic = models.ForeignKey(
        Topic, on_delete=models.CASCADE, null=True, blank=True, related_name="subscriptions"
    )
    publication = models.ForeignKey(
        Publication, on_delete=models.CASCADE, null=True, blank=True, related_name="subscriptions"
    )
    frequency = models.CharField(
        _("how often"), max_length=20, choices=Frequency.choices, default=Frequency.IMMEDIATE
    )
    language = models.CharField(max_length=10, default="en")
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(topic__isnull=True) | Q(publication__isnull=True),
                name="subscription_to_one_thing",
            )
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None


class Delivery(models.Model):
    """One alert about one version to one subscription: sent at most once."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "version"], name="one_delivery_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id}:{self.version_id}"
