"""Consultations: a proposed version open for public comment between two times, the themes and
official response that answer the comments, and the final version that concludes it.

Beat opens and closes consultations as their times come (``consultations_advance``); the
final version is published through ``publications.publishing.version_publish``, which checks
it here (``check_final_version``) and concludes the consultation (``consultation_conclude``).
"""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from clearance.actors import stamped
from clearance.errors import ServiceError
from clearance.models import User
from clearance.queue import enqueue_on_commit
from clearance.services import notify
from publications import markdown
from publications.locks import lock_comment, lock_consultation, lock_due_consultation, lock_version
from publications.models import Comment, Consultation, Theme, Version
from publications.subscriptions import alert_subscribers


def consultation_create(
    *,
    version: Version,
    title: str,
    summary: str,
    opens_at: datetime,
    closes_at: datetime,
    by: User | None,
    questions: str = "",
) -> Consultation:
    """Put a draft or proposed version up for public comment between two times, at least
    ``CONSULTATION_MIN_OPEN_DAYS`` apart; a draft becomes proposed. (Its times are set here
    only: nothing edits them.)"""
    _check_consultation_period(opens_at, closes_at)
    with transaction.atomic():
        version = lock_version(version)
        if version.status == Version.Status.DRAFT:
            Version.WORKFLOW.check(
                version.status, Version.Status.PROPOSED, leaving=Version.Status.DRAFT
            )
            version.status = Version.Status.PROPOSED
            stamped(version, by).save(update_fields=["status"])
        if version.status != Version.Status.PROPOSED:
            raise ServiceError(
                _("Only a draft or proposed version can be consulted on."), field="version"
            )
        consultation = Consultation(
            version=version,
            title=title,
            summary=summary,
            questions=questions,
            opens_at=opens_at,
            closes_at=closes_at,
        )
        consultation.status = consultation.status_at(timezone.now())
        stamped(consultation, by).save()
        if consultation.status == Consultation.Status.OPEN:
            alert_subscribers(version)
    return consultation


def _check_consultation_period(opens_at: datetime, closes_at: datetime) -> None:
    if closes_at <= opens_at:
        raise ServiceError(
            _("The closing time must come after the opening time."), field="closes_at"
        )
    shortest = timedelta(days=settings.CONSULTATION_MIN_OPEN_DAYS)
    if closes_at - opens_at < shortest:
        earliest = timezone.localtime(opens_at + shortest)
        raise ServiceError(
            _(
                "A consultation stays open for at least %(days)s days: the closing time must "
                "be on or after %(earliest)s."
            )
            % {
                "days": settings.CONSULTATION_MIN_OPEN_DAYS,
                "earliest": earliest.strftime("%Y-%m-%d %H:%M"),
            },
            field="closes_at",
            code="too_short",
        )


def consultations_advance(*, now: datetime | None = None) -> int:
    """Open and close consultations whose times have come; returns how many moved.

    Run by beat every minute. Each consultation is moved under its row lock, taken only if it
    still has the status it was found in and no other run holds it, so two runs at once cannot
    both move one consultation; each move writes its history row.
    """
    now = now or timezone.now()
    due = Consultation.objects.filter(
        Q(status=Consultation.Status.UPCOMING, opens_at__lte=now)
        | Q(status=Consultation.Status.OPEN, closes_at__lte=now)
    ).order_by("pk")
    return sum(_advance(consultation, now) for consultation in due)


def _advance(consultation: Consultation, now: datetime) -> bool:
    """Move one due consultation, as read, to the status its times give at ``now``: opening
    tells the subscribers. False when another run has it or has moved it already."""
    with transaction.atomic():
        locked = lock_due_consultation(consultation)
        if locked is None:
            return False
        target = locked.status_at(now)
        leaving = consultation.status  # as found due; then the status each move gave
        while locked.status != target:
            arriving = (
                Consultation.Status.OPEN
                if leaving == Consultation.Status.UPCOMING
                else Consultation.Status.CLOSED
            )
            Consultation.WORKFLOW.check(locked.status, arriving, leaving=leaving)
            locked.status = arriving
            stamped(locked, None).save(update_fields=["status"])
            if arriving == Consultation.Status.OPEN:
                alert_subscribers(locked.version)
            leaving = arriving
    return True


def check_final_version(
    consultation: Consultation, *, effective_date: date, published_at: datetime | None
) -> None:
    """Refuse a final version of ``consultation`` before its time: the consultation must have
    closed (before ``published_at``, for a publication recorded at an earlier time), and the
    final version may apply only from the close plus ``CONSULTATION_MIN_LEAD_DAYS``."""
    if consultation.status in (Consultation.Status.UPCOMING, Consultation.Status.OPEN):
        raise ServiceError(
            _("The consultation “%(title)s” has not closed yet; publish after it closes.")
            % {"title": consultation.title},
            field="effective_date",
            code="consultation_not_closed",
        )
    # Publishing now, the status (which beat moves at the close) says whether it has closed; a
    # publication recorded at an earlier time must come after the close.
    if published_at is not None and published_at < consultation.closes_at:
        raise ServiceError(
            _(
                "The consultation “%(title)s” closed on %(day)s; its final version "
                "cannot have been published before that."
            )
            % {
                "title": consultation.title,
                "day": timezone.localtime(consultation.closes_at).date().isoformat(),
            },
            field="published_at",
            code="consultation_not_closed",
        )
    earliest = consultation.earliest_effective_date()
    if effective_date < earliest:
        raise ServiceError(
            _(
                "Effective date: it must be on or after %(earliest)s, %(days)s days "
                "after the consultation closed, so that people have time to adjust."
            )
            % {"earliest": earliest.isoformat(), "days": settings.CONSULTATION_MIN_LEAD_DAYS},
            field="effective_date",
            code="lead_time",
        )


def consultation_conclude(
    consultation: Consultation, final: Version, by: User | None, at: datetime
) -> None:
    """The closed consultation ends with its final version, published at ``at``: its official
    response is published with it, and everyone who commented is told once. The caller holds
    the consultation's row lock (``lock_pending_consultations``)."""
    Consultation.WORKFLOW.check(
        consultation.status, Consultation.Status.CONCLUDED, leaving=Consultation.Status.CLOSED
    )
    consultation.status = Consultation.Status.CONCLUDED
    consultation.final_version = final
    consultation.response_html = markdown.render(consultation.response)
    consultation.response_published_at = at
    stamped(consultation, by).save(
        update_fields=["status", "final_version", "response_html", "response_published_at"]
    )

    commenters = consultation.comments.exclude(status=Comment.Status.UNCONFIRMED)
    users = User.objects.filter(pk__in=commenters.filter(user__isnull=False).values("user"))
    notify(
        event="consultation_concluded",
        recipients=users,
        context={"title": consultation.title, "final_title": final.title},
        url=consultation.get_absolute_url(),
    )
    told = {user.email.lower() for user in users}
    for comment in commenters.filter(user__isnull=True).order_by("pk"):
        if comment.email.lower() in told:
            continue
        told.add(comment.email.lower())
        enqueue_on_commit("publications.send_comment_email", comment.pk, "consultation_concluded")


def theme_create(*, consultation: Consultation, title: str, by: User | None) -> Theme:
    try:
        with transaction.atomic():
            return Theme.objects.create(consultation=consultation, title=title.strip())
    except IntegrityError:
        raise ServiceError(_("This consultation already has that theme."), field="title") from None


def theme_answer(*, theme: Theme, answer: str, by: User | None) -> Theme:
    theme.answer = answer
    theme.save(update_fields=["answer"])
    return theme


def comment_set_theme(*, comment: Comment, theme: Theme | None, by: User | None) -> Comment:
    """File a comment under one of its consultation's themes (or none)."""
    if theme is not None and theme.consultation_id != comment.consultation_id:
        raise ServiceError(_("Choose a theme of this consultation."), field="theme")
    with transaction.atomic():
        comment = lock_comment(comment.pk)
        comment.theme = theme
        stamped(comment, by).save(update_fields=["theme"])
    return comment


def consultation_set_response(
    *, consultation: Consultation, response: str, by: User | None
) -> Consultation:
    """Write the official response; once the consultation is concluded, it is published as
    saved."""
    with transaction.atomic():
        consultation = lock_consultation(consultation.pk)
        consultation.response = response
        fields = ["response"]
        if consultation.status == Consultation.Status.CONCLUDED:
            consultation.response_html = markdown.render(response)
            fields.append("response_html")
        stamped(consultation, by).save(update_fields=fields)
    return consultation
