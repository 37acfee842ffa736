"""Builders for publication tests: they go through the services, as the portal does."""

from datetime import date, datetime, time, timedelta
from itertools import count
from typing import Any

from django.utils import timezone

from clearance.models import User
from publications import consultations, publishing
from publications.models import Consultation, Publication, Topic, Version

_n = count(1)

RETURNS_POLICY = """# Scope

This policy covers goods returned by buyers after a low-value import.

# Refund of duties

Duties and taxes paid on goods that are returned within 90 days are refunded.

# How to ask

File a refund request with the tracking number and proof of return.
"""


def publication(*, kind: str = "returns_policy", topics: list[Topic] | None = None) -> Publication:
    return publishing.publication_create(
        slug=f"publication-{next(_n)}", kind=kind, topics=topics or [], by=None
    )


def published(
    pub: Publication | None = None,
    *,
    title: str = "Returns policy for low-value goods",
    body: str = RETURNS_POLICY,
    language: str = "en",
    effective: date | None = None,
    by: User | None = None,
    change_note: str = "",
    **kwargs: Any,
) -> Version:
    """A published version. One that applies from a past day is recorded as published on
    that day, since a text cannot take effect before it is published."""
    pub = pub or publication()
    version = publishing.version_create(
        publication=pub, language=language, title=title, body=body, by=by,
        change_note=change_note, **kwargs,
    )  # fmt: skip
    effective = effective or timezone.localdate()
    return publishing.version_publish(
        version=version, effective_date=effective, published_at=published_on(effective), by=by
    )


def published_on(day: date) -> datetime | None:
    """A publication time on ``day`` for a text applying from then; None (now) from today on."""
    if day >= timezone.localdate():
        return None
    return datetime.combine(day, time(9), tzinfo=timezone.get_current_timezone())


def open_consultation(
    pub: Publication | None = None, *, body: str = RETURNS_POLICY, days: int = 30
) -> Consultation:
    pub = pub or publication()
    draft = publishing.version_create(
        publication=pub, language="en", title="Proposed returns policy", body=body, by=None
    )
    now = timezone.now()
    return consultations.consultation_create(
        version=draft,
        title="Consultation on the returns policy",
        summary="We propose to extend the refund window to 90 days.",
        questions="Is 90 days long enough?\nWhat proof of return should count?",
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=days),
        by=None,
    )
