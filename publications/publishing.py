"""Publications and their versions: topics, drafts, publishing a version (which supersedes the
one in force and concludes a consultation on it), and keeping the figures texts state current.
"""

from datetime import date, datetime

from django.conf import settings
from django.contrib.postgres.search import SearchVector
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from clearance.actors import stamped
from clearance.errors import ServiceError
from clearance.models import User
from publications import figures, markdown
from publications.consultations import check_final_version, consultation_conclude
from publications.locks import (
    lock_current_version,
    lock_pending_consultations,
    lock_publication,
    lock_version,
)
from publications.models import Publication, Topic, Version
from publications.subscriptions import alert_subscribers

SEARCH_CONFIGS = {"en": "english", "ko": "simple"}


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
        lock_publication(publication.pk)
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


def version_publish(
    *,
    version: Version,
    by: User | None,
    effective_date: date | None = None,
    published_at: datetime | None = None,
) -> Version:
    """Publish a draft or proposed version; the one it replaces in this language becomes
    superseded.

    A text cannot take effect before the day it is published. If the publication was under
    consultation, this version is the final one: it may apply only from the close plus
    ``CONSULTATION_MIN_LEAD_DAYS``, it concludes the consultation, and everyone who commented
    or subscribed is told.

    ``published_at`` records a publication made earlier, for the demo's history or texts
    imported from an earlier gazette: it may not be in the future, nor before the version it
    replaces or the close of its consultation. The editors' pages never pass it, so what an
    editor publishes is published now.
    """
    at = _publication_time(published_at)
    with transaction.atomic():
        version = lock_version(version)
        Version.WORKFLOW.check(
            version.status,
            Version.Status.PUBLISHED,
            leaving=(Version.Status.DRAFT, Version.Status.PROPOSED),
        )
        applies_from = _effective_date(version, effective_date, at)
        consultations = lock_pending_consultations(version)
        for consultation in consultations:
            check_final_version(
                consultation, effective_date=applies_from, published_at=published_at
            )
        _supersede_current(version, at, by)
        _mark_published(version, at, by)
        for consultation in consultations:
            consultation_conclude(consultation, version, by, at)
        alert_subscribers(version)
    return version


def _publication_time(published_at: datetime | None) -> datetime:
    """When the version is published: now, or the earlier time ``published_at`` records."""
    now = timezone.now()
    if published_at is not None and published_at > now:
        raise ServiceError(
            _("The publication time cannot be in the future."),
            field="published_at",
            code="future",
        )
    return published_at or now


def _effective_date(version: Version, effective_date: date | None, at: datetime) -> date:
    """Set the day the version applies from (``effective_date``, else the one it has), which
    publishing requires, and which may not come before the day it is published, ``at``."""
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
    return version.effective_date


def _supersede_current(version: Version, at: datetime, by: User | None) -> None:
    """The version in force in this language, if any, is superseded by ``version``, published
    at ``at``, which may not be before it was."""
    current = lock_current_version(version)
    if current is None:
        return
    if current.published_at is not None and at < current.published_at:
        raise ServiceError(
            _(
                "The version in force was published on %(day)s; the one that replaces "
                "it cannot have been published before that."
            )
            % {"day": timezone.localtime(current.published_at).date().isoformat()},
            field="published_at",
            code="before_replaced",
        )
    Version.WORKFLOW.check(
        current.status, Version.Status.SUPERSEDED, leaving=Version.Status.PUBLISHED
    )
    current.status = Version.Status.SUPERSEDED
    stamped(current, by).save(update_fields=["status"])


def _mark_published(version: Version, at: datetime, by: User | None) -> None:
    """Record ``version`` as published at ``at``, rendered as of its effective date (which may
    have changed, and with it the threshold in force), and index it for search."""
    version.status = Version.Status.PUBLISHED
    version.published_at = at
    _render(version)
    stamped(version, by).save(
        update_fields=[
            "status", "published_at", "effective_date", "body_html", "plain_text", "figures",
        ]
    )  # fmt: skip
    _index(version)


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
