"""Officer review's data: cases in the queues, decisions, questions to the filer, and release
notices.

Tables keep the names they had when these models lived in the clearance core
(``clearance_reviewcase``...): moving the room moved the code, not the data.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class Queue(models.TextChoices):
    DOCUMENT_CHECK = "document_check", _("Document check")
    INSPECTION = "inspection", _("Inspection")


class ReviewCaseQuerySet(models.QuerySet["ReviewCase"]):
    def open(self) -> "ReviewCaseQuerySet":
        return self.filter(closed_at__isnull=True)


class ReviewCase(models.Model):
    """A declaration in an officer queue: who holds it, and by when it must be decided."""

    declaration = models.OneToOneField(
        "declarations.Declaration", on_delete=models.CASCADE, related_name="review_case"
    )
    queue = models.CharField(_("queue"), max_length=20, choices=Queue.choices)
    points = models.PositiveIntegerField(_("score"))
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    due_at = models.DateTimeField(_("due at"))
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    history = HistoricalRecords(table_name="clearance_historicalreviewcase")
    objects = ReviewCaseQuerySet.as_manager()

    class Meta:
        db_table = "clearance_reviewcase"
        ordering = ["-points", "opened_at"]
        indexes = [models.Index(fields=["queue", "closed_at", "points"])]

    def __str__(self) -> str:
        return f"{self.queue} {self.declaration_id}"

    @property
    def is_overdue(self) -> bool:
        return self.closed_at is None and timezone.now() > self.due_at


class Decision(models.Model):
    """An officer's decision on a case: who, when, what and why. Only a supervisor reverses."""

    class Action(models.TextChoices):
        RELEASE = "release", _("Release")
        REJECT = "reject", _("Reject")
        SEIZE = "seize", _("Seize")
        REFER = "refer", _("Refer to another agency")
        REQUEST_INFO = "request_info", _("Request information")
        INSPECTION = "inspection", _("Inspection result")
        REVERSAL = "reversal", _("Reversal")

    declaration = models.ForeignKey(
        "declarations.Declaration", on_delete=models.CASCADE, related_name="decisions"
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    reason = models.TextField(_("reason"), blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )

    history = HistoricalRecords(table_name="clearance_historicaldecision")

    class Meta:
        db_table = "clearance_decision"
        ordering = ["declaration", "at", "id"]

    def __str__(self) -> str:
        return f"{self.declaration_id} {self.action}"


class InfoRequest(models.Model):
    """A question an officer asks the filer, with a due date, and the filer's answer."""

    declaration = models.ForeignKey(
        "declarations.Declaration", on_delete=models.CASCADE, related_name="info_requests"
    )
    question = models.TextField(_("question"))
    due_on = models.DateField(_("answer by"))
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    asked_at = models.DateTimeField(default=timezone.now)
    answer = models.TextField(_("answer"), blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    history = HistoricalRecords(table_name="clearance_historicalinforequest")

    class Meta:
        db_table = "clearance_inforequest"
        ordering = ["declaration", "asked_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["declaration"],
                condition=models.Q(answered_at__isnull=True),
                name="info_request_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.declaration_id}: {self.question[:40]}"


class ReleaseNotice(models.Model):
    """The release notice of a released declaration; ``code`` is what /verify/CODE checks."""

    declaration = models.OneToOneField(
        "declarations.Declaration", on_delete=models.CASCADE, related_name="release_notice"
    )
    code = models.CharField(max_length=16, unique=True)
    file = models.FileField(upload_to="release-notices/%Y/%m/", blank=True)
    issued_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "clearance_releasenotice"

    def __str__(self) -> str:
        return self.code
