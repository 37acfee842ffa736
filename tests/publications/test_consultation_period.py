"""A consultation stays open for at least CONSULTATION_MIN_OPEN_DAYS."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clearance.errors import ServiceError
from publications import consultations, publishing
from publications.models import Consultation
from tests.publications.helpers import publication
from tests.publications.test_comments import sign_in_editor

pytestmark = pytest.mark.django_db


def consult(opens_at, closes_at):
    draft = publishing.version_create(
        publication=publication(), language="en", title="Draft", body="# A\n\ntext", by=None
    )
    return consultations.consultation_create(
        version=draft, title="C", summary="S", opens_at=opens_at, closes_at=closes_at, by=None
    )


def test_a_consultation_shorter_than_the_minimum_is_refused_on_the_closing_time(settings):
    settings.CONSULTATION_MIN_OPEN_DAYS = 30
    opens = timezone.now()
    with pytest.raises(ServiceError) as error:
        consult(opens, opens + timedelta(days=30) - timedelta(minutes=1))
    assert (error.value.field, error.value.code) == ("closes_at", "too_short")
    assert "at least 30 days" in error.value.message
    earliest = timezone.localtime(opens + timedelta(days=30)).strftime("%Y-%m-%d %H:%M")
    assert earliest in error.value.message
    assert not Consultation.objects.exists()


def test_a_consultation_open_exactly_the_minimum_is_accepted(settings):
    settings.CONSULTATION_MIN_OPEN_DAYS = 30
    opens = timezone.now() - timedelta(days=5)
    consultation = consult(opens, opens + timedelta(days=30))
    assert consultation.status == Consultation.Status.OPEN


def test_the_minimum_follows_the_setting(settings):
    settings.CONSULTATION_MIN_OPEN_DAYS = 10
    opens = timezone.now()
    assert consult(opens, opens + timedelta(days=10)).pk
    with pytest.raises(ServiceError):
        consult(opens, opens + timedelta(days=9))


def test_the_editor_page_shows_the_minimum_on_the_closing_field(client, settings):
    settings.CONSULTATION_MIN_OPEN_DAYS = 30
    sign_in_editor(client)
    pub = publication()
    draft = publishing.version_create(
        publication=pub, language="en", title="Draft", body="# A\n\ntext", by=None
    )
    now = timezone.localtime()
    page = client.post(
        f"/publications/editor/texts/{pub.slug}/",
        {"action": "consult", "version": draft.pk, "consult-title": "T", "consult-summary": "S",
         "consult-opens_at": now.strftime("%Y-%m-%dT%H:%M"),
         "consult-closes_at": (now + timedelta(days=14)).strftime("%Y-%m-%dT%H:%M")},
    ).content.decode()  # fmt: skip
    assert 'href="#id_consult-closes_at"' in page
    assert "at least 30 days" in page
    assert not Consultation.objects.exists()
