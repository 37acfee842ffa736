"""Writes for publications, consultations, comments and subscriptions.

Each service owns its transaction, records the acting user on the history rows it writes, and
queues email only after the transaction commits (tasks take ids).
"""

import difflib
import hashlib
import re
import secrets
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchVector
from django.core import signing
from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from clearance.actors import stamped
from clearance.errors import ServiceError
from clearance.models import User
from clearance.queue import enqueue_on_commit
from clearance.services import notify
from clearance.uploads import check_upload
from publications import figures, markdown
from publications.models import (
    Attachment,
    Campaign,
    Comment,
    Consultation,
    Delivery,
    Flag,
    Publication,
    Subscription,
    Theme,
    Topic,
    Version,
)

COMMENT_SALT = "publications.comment-confirm"
SUBSCRIBE_SALT = "publications.subscription-confirm"
UNSUBSCRIBE_SALT = "publications.unsubscribe"
CONFIRM_MAX_AGE = 60 * 60 * 24 * 3
# Two comments this alike (difflib ratio of their normalised words) belong to one campaign.
CAMPAIGN_SIMILARITY = 0.9
CAMPAIGN_WINDOW = 500
SEARCH_CONFIGS = {"en": "english", "ko": "simple"}
_TRACKING_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


# --- Publications and versions --------------------------------------------------------------


def topic_create(*, slug: str, name: str, name_ko: str = "") -> Topic:
    return Topic.objects.create(slug=slug, name=name, name_ko=name_ko)


def publication_create(
    *, slug: str, kind: str, topics: list[Topic] | None = None, by: User | None
) -> Publication:
    if kind not in Publication.Kind.values:
        raise ServiceError(_("Choose a kind of publication."), field="kind")
    with transaction.atomic():
        publication = Publication(slug=slug, kind=kind)
        stamped(publication, by).save()
        publication.topics.set(topics or [])
    return publication


def version_create(
    *,
    publication: Publication,
    language: str,
    title: str,
    body: str,
    by: User | None,
    summary: str = "",
    change_kind: str = Version.Change.MAJOR,
    change_note: str = "",
    effective_date: date | None = None,
) -> Version:
    """A new draft: the next number of this publication in this language.

    The text may name figures the portal enforces (``publications.figures``); an unknown
    name is refused here, when the editor saves.
    """
    if language not in dict(settings.LANGUAGES):
        raise ServiceError(_("Choose a language the portal offers."), field="language")
    for field, text in (("title", title), ("summary", summary)):
        if figures.has_placeholder(text):
            raise ServiceError(
                _(
                    "Figures such as {{ returns_period_days }} are filled in only in the text, "
                    "not in the title or the summary."
                ),
                field=field,
                code="placeholder_outside_text",
            )
    version = Version(
        publication=publication,
        language=language,
        title=title,
        summary=summary,
        body=body,
        change_kind=change_kind,
        change_note=change_note,
        effective_date=effective_date,
        author=by,
        search_config=SEARCH_CONFIGS.get(language, "simple"),
    )
    _render(version)
    with transaction.atomic():
        # The publication row lock serialises numbering; the unique constraint backs it up.
        Publication.objects.select_for_update().get(pk=publication.pk)
        last = publication.versions.filter(language=language).aggregate(n=Max("number"))["n"]
        version.number = (last or 0) + 1
        stamped(version, by).save()
    return version


def _render(version: Version) -> None:
    """Fill in the figures the text names, as of the day it applies (today for a draft
    without one), and render it into the stored fields; the caller saves."""
    names = figures.names_in(version.body)
    on = version.effective_date or timezone.localdate()
    version.figures = figures.values(names, on=on, language=version.language)
    version.body_html = markdown.render(figures.fill(version.body, version.figures))
    version.plain_text = markdown.plain(version.body_html)


def _index(version: Version) -> None:
    """Build the search vector of a public version from its stored text."""
    config = version.search_config
    Version.objects.public().filter(pk=version.pk).update(
        search_vector=SearchVector("title", weight="A", config=config)
        + SearchVector("summary", weight="B", config=config)
        + SearchVector("plain_text", weight="C", config=config)
    )


def _lock_version(version: Version) -> Version:
    return Version.objects.select_for_update().select_related("publication").get(pk=version.pk)


def version_propose(*, version: Version, by: User | None) -> Version:
    with transaction.atomic():
        version = _lock_version(version)
        Version.WORKFLOW.check(version.status, Version.Status.PROPOSED)
        version.status = Version.Status.PROPOSED
        stamped(version, by).save(update_fields=["status"])
    return version


def _pending_consultations(version: Version) -> list[Consultation]:
    """Consultations on this publication and language that no final version has concluded."""
    return list(
        Consultation.objects.select_for_update()
        .filter(
            version__publication=version.publication,
            version__language=version.language,
            final_version__isnull=True,
        )
        .order_by("pk")
    )


def version_publish(
    *,
    version: Version,
    by: User | None,
    effective_date: date | None = None,
    published_at: datetime | None = None,
) -> Version:
    """Publish a version; the one it replaces in this language becomes superseded.

    A text cannot take effect before the day it is published. If the publication was under
    consultation, this version is the final one: it may apply only from the close plus
    ``CONSULTATION_MIN_LEAD_DAYS``, it concludes the consultation, and everyone who commented
    or subscribed is told.

    ``published_at`` records a publication made earlier, for the demo's history or texts
    imported from an earlier gazette: it may not be in the future, nor before the version it
    replaces or the close of its consultation. The editors' pages never pass it, so what an
    editor publishes is published now.
    """
    now = timezone.now()
    at = published_at or now
    if at > now:
        raise ServiceError(
            _("The publication time cannot be in the future."),
            field="published_at",
            code="future",
        )
    with transaction.atomic():
        version = _lock_version(version)
        Version.WORKFLOW.check(version.status, Version.Status.PUBLISHED)
        if effective_date is not None:
            version.effective_date = effective_date
        if version.effective_date is None:
            raise ServiceError(
                _("Give the effective date from which this text applies."),
                field="effective_date",
                code="required",
            )
        published_on = timezone.localdate(at)
        if version.effective_date < published_on:
            raise ServiceError(
                _(
                    "Effective date: a text cannot take effect before the day it is "
                    "published, %(day)s. Choose that day or a later one."
                )
                % {"day": published_on.isoformat()},
                field="effective_date",
                code="before_publication",
            )
        consultations = _pending_consultations(version)
        for consultation in consultations:
            if consultation.status in (Consultation.Status.UPCOMING, Consultation.Status.OPEN):
                raise ServiceError(
                    _("The consultation “%(title)s” has not closed yet; publish after it closes.")
                    % {"title": consultation.title},
                    field="effective_date",
                    code="consultation_not_closed",
                )
            # Publishing now, the status (which beat moves at the close) says whether it has
            # closed; a publication recorded at an earlier time must come after the close.
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
            if version.effective_date < earliest:
                raise ServiceError(
                    _(
                        "Effective date: it must be on or after %(earliest)s, %(days)s days "
                        "after the consultation closed, so that people have time to adjust."
                    )
                    % {
                        "earliest": earliest.isoformat(),
                        "days": settings.CONSULTATION_MIN_LEAD_DAYS,
                    },
                    field="effective_date",
                    code="lead_time",
                )
        replaced = list(
            Version.objects.select_for_update().filter(
                publication=version.publication,
                language=version.language,
                status=Version.Status.PUBLISHED,
            )
        )
        for old in replaced:
            if old.published_at is not None and at < old.published_at:
                raise ServiceError(
                    _(
                        "The version in force was published on %(day)s; the one that replaces "
                        "it cannot have been published before that."
                    )
                    % {"day": timezone.localtime(old.published_at).date().isoformat()},
                    field="published_at",
                    code="before_replaced",
                )
        for old in replaced:
            old.status = Version.Status.SUPERSEDED
            stamped(old, by).save(update_fields=["status"])
        version.status = Version.Status.PUBLISHED
        version.published_at = at
        # The effective date may have changed, and with it the threshold in force.
        _render(version)
        stamped(version, by).save(
            update_fields=[
                "status", "published_at", "effective_date", "body_html", "plain_text", "figures",
            ]
        )  # fmt: skip
        _index(version)
        for consultation in consultations:
            _consultation_conclude(consultation, version, by, at)
        _alert_subscribers(version)
    return version


def versions_refresh_figures() -> int:
    """Render again each version whose stored figures differ from what the settings and the
    regimes give now (see ``publications.figures``); returns how many changed.

    Each update is conditional on the figures and effective date that were read, so a version
    published meanwhile keeps what ``version_publish`` rendered and the next run looks again.
    The rendered fields and figures are not in the history (they follow from the text and the
    configuration), so an ``update`` that writes no history row loses nothing.
    """
    today = timezone.localdate()
    changed = 0
    candidates = (
        Version.objects.exclude(figures={})
        .only("pk", "body", "language", "effective_date", "figures", "search_config")
        .order_by("pk")
    )
    for version in candidates.iterator():
        wanted = figures.values(
            list(version.figures), on=version.effective_date or today, language=version.language
        )
        if wanted == version.figures:
            continue
        rendered = markdown.render(figures.fill(version.body, wanted))
        with transaction.atomic():
            updated = Version.objects.filter(
                pk=version.pk, figures=version.figures, effective_date=version.effective_date
            ).update(body_html=rendered, plain_text=markdown.plain(rendered), figures=wanted)
            if updated:
                _index(version)
                changed += 1
    return changed


def _consultation_conclude(
    consultation: Consultation, final: Version, by: User | None, at: datetime
) -> None:
    Consultation.WORKFLOW.check(consultation.status, Consultation.Status.CONCLUDED)
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


def _alert_subscribers(version: Version) -> None:
    """Queue an alert about a version to each matching subscriber: a published text, or a
    proposed one that opens for comment."""

    topic_ids = list(version.publication.topics.values_list("pk", flat=True))
    subscriptions = Subscription.objects.filter(
        confirmed_at__isnull=False, unsubscribed_at__isnull=True
    ).filter(
        Q(publication=version.publication)
        | Q(topic_id__in=topic_ids)
        | Q(topic__isnull=True, publication__isnull=True)
    )
    for subscription in subscriptions:
        delivery, created = Delivery.objects.get_or_create(
            subscription=subscription, version=version
        )
        if created and subscription.frequency == Subscription.Frequency.IMMEDIATE:
            enqueue_on_commit("publications.send_alert", delivery.pk)


# --- Consultations -------------------------------------------------------------------------


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
    ``CONSULTATION_MIN_OPEN_DAYS`` apart. (Its times are set here only: nothing edits them.)"""
    _check_consultation_period(opens_at, closes_at)
    with transaction.atomic():
        version = _lock_version(version)
        if version.status == Version.Status.DRAFT:
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
            _alert_subscribers(version)
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

    Run by beat every minute. A conditional update per row means two runs at once cannot
    both move one consultation, and each move writes its history row.
    """
    now = now or timezone.now()
    moved = 0
    due = Consultation.objects.filter(
        Q(status=Consultation.Status.UPCOMING, opens_at__lte=now)
        | Q(status=Consultation.Status.OPEN, closes_at__lte=now)
    ).order_by("pk")
    for consultation in due:
        with transaction.atomic():
            locked = (
                Consultation.objects.select_for_update(skip_locked=True)
                .filter(pk=consultation.pk, status=consultation.status)
                .first()
            )
            if locked is None:
                continue
            target = locked.status_at(now)
            while locked.status != target:
                nxt = (
                    Consultation.Status.OPEN
                    if locked.status == Consultation.Status.UPCOMING
                    else Consultation.Status.CLOSED
                )
                Consultation.WORKFLOW.check(locked.status, nxt)
                locked.status = nxt
                stamped(locked, None).save(update_fields=["status"])
                if nxt == Consultation.Status.OPEN:
                    _alert_subscribers(locked.version)
            moved += 1
    return moved


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
    if theme is not None and theme.consultation_id != comment.consultation_id:
        raise ServiceError(_("Choose a theme of this consultation."), field="theme")
    with transaction.atomic():
        comment = Comment.objects.select_for_update().get(pk=comment.pk)
        comment.theme = theme
        stamped(comment, by).save(update_fields=["theme"])
    return comment


def consultation_set_response(
    *, consultation: Consultation, response: str, by: User | None
) -> Consultation:
    with transaction.atomic():
        consultation = Consultation.objects.select_for_update().get(pk=consultation.pk)
        consultation.response = response
        fields = ["response"]
        if consultation.status == Consultation.Status.CONCLUDED:
            consultation.response_html = markdown.render(response)
            fields.append("response_html")
        stamped(consultation, by).save(update_fields=fields)
    return consultation


# --- Comments ------------------------------------------------------------------------------


def normalise(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _tracking_number() -> str:
    chars = "".join(secrets.choice(_TRACKING_ALPHABET) for _ in range(12))
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def _rate_limit(kind: str, value: str) -> None:
    """Count one comment against an hourly window; refuse past ``COMMENT_RATE_PER_HOUR``.

    ``add`` then ``incr`` are single Redis commands, so concurrent posts cannot both slip
    under the limit.
    """
    window = timezone.now().strftime("%Y%m%d%H")
    digest = hashlib.sha256(value.lower().encode()).hexdigest()[:32]
    key = f"publications:comment-rate:{kind}:{digest}:{window}"
    cache.add(key, 0, timeout=3600)
    if cache.incr(key) > settings.COMMENT_RATE_PER_HOUR:
        raise ServiceError(
            _("Too many comments from this %(what)s in the last hour. Try again later.")
            % {"what": _("email address") if kind in ("email", "subscribe") else _("address")},
            field="email" if kind == "email" else "",
            code="rate_limited",
        )


def check_attachment(upload: "UploadedFile[Any]") -> None:
    check_upload(
        upload,
        field="attachment",
        max_bytes=settings.COMMENT_ATTACHMENT_MAX_BYTES,
        types=("pdf",),
    )


def comment_submit(
    *,
    consultation: Consultation,
    body: str,
    name: str,
    email: str,
    user: User | None,
    address: str,
    section: str = "",
    on_behalf: str = Comment.OnBehalf.INDIVIDUAL,
    organisation_name: str = "",
    attachment: "UploadedFile[Any] | None" = None,
    honeypot: str = "",
    language: str = "en",
) -> Comment:
    """Take a comment on an open consultation and give it a tracking number.

    A signed-in user's comment counts as confirmed at once; an anonymous one waits until the
    link sent to its email address is opened.
    """
    if honeypot:
        raise ServiceError(_("Your comment could not be accepted."), code="spam")
    if consultation.status != Consultation.Status.OPEN:
        raise ServiceError(_("This consultation is not open for comments."), code="closed")
    if not body.strip():
        raise ServiceError(_("Write your comment."), field="body", code="required")
    if section and section not in dict(consultation.version.sections()):
        raise ServiceError(_("Choose a section of the text."), field="section")
    if on_behalf == Comment.OnBehalf.ORGANISATION and not organisation_name.strip():
        raise ServiceError(
            _("Give the name of the organisation you comment for."), field="organisation_name"
        )
    if attachment is not None:
        check_attachment(attachment)
    if user is not None:
        email, name = user.email, name or user.get_full_name() or user.email
    _rate_limit("ip", address)
    _rate_limit("email", email)

    with transaction.atomic():
        comment = Comment(
            consultation=consultation,
            tracking_number=_tracking_number(),
            section=section,
            body=body.strip(),
            user=user,
            name=name.strip(),
            email=email.strip().lower(),
            language=language,
            on_behalf=on_behalf,
            organisation_name=organisation_name.strip()
            if on_behalf == Comment.OnBehalf.ORGANISATION
            else "",
            status=Comment.Status.UNCONFIRMED,
            fingerprint=hashlib.sha256(normalise(body).encode()).hexdigest(),
        )
        stamped(comment, user).save()
        if attachment is not None:
            Attachment.objects.create(
                comment=comment,
                file=attachment,
                name=(attachment.name or "attachment.pdf")[-200:],
                size=attachment.size or 0,
            )
        if user is not None:
            _confirmed(comment, user)
        else:
            enqueue_on_commit("publications.send_comment_email", comment.pk, "confirm")
    return comment


def comment_confirm_token(comment: Comment) -> str:
    return signing.dumps({"c": comment.pk, "t": comment.tracking_number}, salt=COMMENT_SALT)


def comment_confirm(*, token: str) -> Comment:
    """Confirm an anonymous comment from its email link. Opening the link twice is harmless."""
    try:
        data = signing.loads(token, salt=COMMENT_SALT, max_age=CONFIRM_MAX_AGE)
    except signing.SignatureExpired:
        raise ServiceError(_("This confirmation link has expired."), code="expired") from None
    except signing.BadSignature:
        raise ServiceError(_("This confirmation link is not valid."), code="invalid") from None
    with transaction.atomic():
        comment = (
            Comment.objects.select_for_update()
            .filter(pk=data["c"], tracking_number=data["t"])
            .first()
        )
        if comment is None:
            raise ServiceError(_("This confirmation link is not valid."), code="invalid")
        if comment.status == Comment.Status.UNCONFIRMED:
            _confirmed(comment, None)
    return comment


def _confirmed(comment: Comment, by: User | None) -> None:
    """The comment is real: group it with its look-alikes, queue or publish it, send a receipt."""

    # The consultation row lock keeps two look-alikes confirmed at once from making two
    # campaigns.
    Consultation.objects.select_for_update().get(pk=comment.consultation_id)
    comment.campaign = _campaign_for(comment)
    comment.status = (
        Comment.Status.PENDING if settings.COMMENT_PRE_MODERATION else Comment.Status.PUBLISHED
    )
    comment.confirmed_at = timezone.now()
    stamped(comment, by).save(update_fields=["campaign", "status", "confirmed_at"])
    if comment.user is not None:
        notify(
            event="comment_received",
            recipients=[comment.user],
            context={
                "tracking_number": comment.tracking_number,
                "title": comment.consultation.title,
            },
            url=comment.get_absolute_url(),
        )
    else:
        enqueue_on_commit("publications.send_comment_email", comment.pk, "receipt")


def _campaign_for(comment: Comment) -> Campaign | None:
    others = (
        Comment.objects.filter(consultation_id=comment.consultation_id)
        .exclude(pk=comment.pk)
        .exclude(status__in=[Comment.Status.UNCONFIRMED])
    )
    match = others.filter(fingerprint=comment.fingerprint).order_by("pk").first()
    if match is None:
        words = normalise(comment.body)
        for other in others.order_by("-pk")[:CAMPAIGN_WINDOW]:
            matcher = difflib.SequenceMatcher(a=words, b=normalise(other.body), autojunk=False)
            if (
                matcher.real_quick_ratio() >= CAMPAIGN_SIMILARITY
                and matcher.quick_ratio() >= CAMPAIGN_SIMILARITY
                and matcher.ratio() >= CAMPAIGN_SIMILARITY
            ):
                match = other
                break
    if match is None:
        return None
    if match.campaign is None:
        match.campaign = Campaign.objects.create(
            consultation_id=comment.consultation_id, sample=match.body
        )
        stamped(match, None).save(update_fields=["campaign"])
    return match.campaign


def comment_moderate(*, comment: Comment, approve: bool, by: User) -> Comment:
    """An editor publishes or rejects a comment; a published commenter is told."""

    target = Comment.Status.PUBLISHED if approve else Comment.Status.REJECTED
    with transaction.atomic():
        comment = (
            Comment.objects.select_for_update().select_related("consultation").get(pk=comment.pk)
        )
        Comment.WORKFLOW.check(comment.status, target)
        comment.status = target
        comment.moderated_at = timezone.now()
        comment.moderated_by = by
        stamped(comment, by).save(update_fields=["status", "moderated_at", "moderated_by"])
        if approve:
            if comment.user is not None:
                notify(
                    event="comment_published",
                    recipients=[comment.user],
                    context={
                        "tracking_number": comment.tracking_number,
                        "title": comment.consultation.title,
                    },
                    url=comment.get_absolute_url(),
                )
            else:
                enqueue_on_commit("publications.send_comment_email", comment.pk, "published")
    return comment


def comment_flag(*, comment: Comment, reason: str, address: str) -> Flag:
    """A reader reports a published comment; editors see flagged comments first.

    Reports count against the same hourly limit per address as comments do.
    """
    if comment.status != Comment.Status.PUBLISHED:
        raise ServiceError(_("Only published comments can be reported."), code="not_published")
    if not reason.strip():
        raise ServiceError(_("Say what is wrong with the comment."), field="reason")
    _rate_limit("flag", address)
    from django.db.models import F

    with transaction.atomic():
        flag = Flag.objects.create(comment=comment, reason=reason.strip()[:300])
        Comment.objects.filter(pk=comment.pk).update(flag_count=F("flag_count") + 1)
    return flag


# --- Subscriptions -------------------------------------------------------------------------


def subscription_create(
    *,
    email: str,
    frequency: str,
    language: str,
    topic: Topic | None = None,
    publication: Publication | None = None,
) -> Subscription:
    """Ask for alerts; nothing is sent until the address confirms (double opt-in)."""

    if topic is not None and publication is not None:
        raise ServiceError(_("Subscribe to a topic or to a publication, not both."), field="topic")
    if frequency not in Subscription.Frequency.values:
        raise ServiceError(_("Choose how often to be told."), field="frequency")
    _rate_limit("subscribe", email)
    with transaction.atomic():
        subscription = Subscription.objects.create(
            email=email.strip().lower(),
            frequency=frequency,
            language=language,
            topic=topic,
            publication=publication,
        )
        enqueue_on_commit("publications.send_subscription_email", subscription.pk, "confirm")
    return subscription


def subscription_token(subscription: Subscription, salt: str) -> str:
    return signing.dumps({"s": subscription.pk, "e": subscription.email}, salt=salt)


def _subscription_from(token: str, salt: str, max_age: int | None) -> Subscription:
    try:
        data = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired:
        raise ServiceError(_("This link has expired."), code="expired") from None
    except signing.BadSignature:
        raise ServiceError(_("This link is not valid."), code="invalid") from None
    subscription = (
        Subscription.objects.select_for_update().filter(pk=data["s"], email=data["e"]).first()
    )
    if subscription is None:
        raise ServiceError(_("This link is not valid."), code="invalid")
    return subscription


def subscription_confirm(*, token: str) -> Subscription:
    with transaction.atomic():
        subscription = _subscription_from(token, SUBSCRIBE_SALT, CONFIRM_MAX_AGE)
        if subscription.confirmed_at is None:
            subscription.confirmed_at = timezone.now()
            subscription.save(update_fields=["confirmed_at"])
    return subscription


def subscription_unsubscribe(*, token: str) -> Subscription:
    """One click from any alert: the token never expires, and using it twice is harmless."""
    with transaction.atomic():
        subscription = _subscription_from(token, UNSUBSCRIBE_SALT, None)
        if subscription.unsubscribed_at is None:
            subscription.unsubscribed_at = timezone.now()
            subscription.save(update_fields=["unsubscribed_at"])
    return subscription


def digest_plan() -> dict[int, list[int]]:
    """Unsent daily-digest deliveries, as subscription id -> version ids."""
    plan: dict[int, list[int]] = {}
    rows = (
        Delivery.objects.filter(
            sent_at__isnull=True,
            subscription__frequency=Subscription.Frequency.DAILY,
            subscription__unsubscribed_at__isnull=True,
        )
        .order_by("pk")
        .values_list("subscription_id", "version_id")
    )
    for subscription_id, version_id in rows:
        plan.setdefault(subscription_id, []).append(version_id)
    return plan


def claim_deliveries(*, subscription_id: int, version_ids: list[int]) -> int:
    """Mark deliveries sent before sending, so a second run cannot send them again."""
    return Delivery.objects.filter(
        subscription_id=subscription_id, version_id__in=version_ids, sent_at__isnull=True
    ).update(sent_at=timezone.now())


def comment_context(comment: Comment) -> dict[str, Any]:
    return {
        "name": comment.name,
        "tracking_number": comment.tracking_number,
        "title": comment.consultation.title,
        "url": comment.get_absolute_url(),
    }
