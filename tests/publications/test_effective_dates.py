"""A text cannot take effect before it is published; a publication recorded in the past
(the demo's history, an import) is held to the same rule as of its own day."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clearance.errors import ServiceError
from publications import consultations, publishing
from publications.models import Version
from tests.publications.helpers import RETURNS_POLICY, open_consultation, publication, published
from tests.publications.test_comments import sign_in_editor

pytestmark = pytest.mark.django_db


def draft(pub=None):
    return publishing.version_create(
        publication=pub or publication(), language="en", title="Returns", body=RETURNS_POLICY,
        by=None,
    )  # fmt: skip


def test_a_version_cannot_take_effect_before_the_day_it_is_published():
    version = draft()
    today = timezone.localdate()
    with pytest.raises(ServiceError) as error:
        publishing.version_publish(
            version=version, effective_date=today - timedelta(days=1), by=None
        )
    assert (error.value.field, error.value.code) == ("effective_date", "before_publication")
    assert "cannot take effect before the day it is published" in error.value.message
    assert today.isoformat() in error.value.message
    version.refresh_from_db()
    assert version.status == Version.Status.DRAFT


def test_a_version_may_take_effect_on_the_day_it_is_published_or_later():
    today = published(effective=timezone.localdate())
    later = published(effective=timezone.localdate() + timedelta(days=30))
    assert today.status == later.status == Version.Status.PUBLISHED


def test_a_publication_recorded_in_the_past_applies_from_that_day_at_the_earliest():
    when = timezone.now() - timedelta(days=400)
    first = publishing.version_publish(
        version=draft(), effective_date=timezone.localdate(when), published_at=when, by=None
    )
    assert first.published_at == when
    with pytest.raises(ServiceError) as error:
        publishing.version_publish(
            version=draft(),
            effective_date=timezone.localdate(when) - timedelta(days=1),
            published_at=when,
            by=None,
        )
    assert error.value.field == "effective_date"
    assert timezone.localdate(when).isoformat() in error.value.message


def test_a_recorded_publication_cannot_be_in_the_future_or_before_the_version_it_replaces():
    pub = publication()
    current = published(pub)
    with pytest.raises(ServiceError) as error:
        publishing.version_publish(
            version=draft(pub),
            effective_date=timezone.localdate() + timedelta(days=5),
            published_at=timezone.now() + timedelta(days=1),
            by=None,
        )
    assert (error.value.field, error.value.code) == ("published_at", "future")
    earlier = current.published_at - timedelta(days=3)
    with pytest.raises(ServiceError) as error:
        publishing.version_publish(
            version=draft(pub),
            effective_date=timezone.localdate(earlier),
            published_at=earlier,
            by=None,
        )
    assert (error.value.field, error.value.code) == ("published_at", "before_replaced")
    current.refresh_from_db()
    assert current.status == Version.Status.PUBLISHED


def test_a_final_version_cannot_be_recorded_as_published_before_its_consultation_closed():
    consultation = open_consultation()
    consultations.consultations_advance(now=consultation.closes_at)
    with pytest.raises(ServiceError) as error:
        publishing.version_publish(
            version=consultation.version,
            effective_date=consultation.earliest_effective_date(),
            published_at=timezone.now(),
            by=None,
        )
    assert (error.value.field, error.value.code) == ("published_at", "consultation_not_closed")


def test_the_editor_page_shows_the_refusal_on_the_effective_date_field(client):
    sign_in_editor(client)
    version = draft()
    yesterday = timezone.localdate() - timedelta(days=1)
    page = client.post(
        f"/publications/editor/texts/{version.publication.slug}/",
        {"action": "publish", "version": version.pk,
         "publish-effective_date": yesterday.isoformat()},
    ).content.decode()  # fmt: skip
    assert 'href="#id_publish-effective_date"' in page
    assert "cannot take effect before the day it is published" in page
    version.refresh_from_db()
    assert version.status == Version.Status.DRAFT
