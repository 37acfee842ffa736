from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from clearance.errors import ServiceError
from publications import consultations, publishing
from publications.models import Consultation, Version
from publications.tasks import advance_consultations
from tests.clearance.test_staff_access import sign_in
from tests.factories import current_totp, staff_user
from tests.publications.helpers import open_consultation, publication

pytestmark = pytest.mark.django_db


def close(consultation):
    consultations.consultations_advance(now=consultation.closes_at + timedelta(seconds=1))
    consultation.refresh_from_db()
    assert consultation.status == Consultation.Status.CLOSED
    return consultation


def test_publishing_the_final_version_too_soon_after_the_close_is_refused(settings):
    settings.CONSULTATION_MIN_LEAD_DAYS = 30
    consultation = close(open_consultation())
    too_early = consultation.earliest_effective_date() - timedelta(days=1)
    with pytest.raises(ServiceError) as error:
        publishing.version_publish(version=consultation.version, effective_date=too_early, by=None)
    assert error.value.field == "effective_date"
    assert error.value.code == "lead_time"
    assert consultation.earliest_effective_date().isoformat() in error.value.message
    assert "30 days" in error.value.message
    consultation.version.refresh_from_db()
    assert consultation.version.status == Version.Status.PROPOSED


def test_the_final_version_on_the_earliest_day_is_published_and_concludes_the_consultation():
    consultation = close(open_consultation())
    publishing.version_publish(
        version=consultation.version,
        effective_date=consultation.earliest_effective_date(),
        by=None,
    )
    consultation.refresh_from_db()
    assert consultation.status == Consultation.Status.CONCLUDED
    assert consultation.final_version == consultation.version


def test_a_final_version_cannot_be_published_while_the_consultation_is_open():
    consultation = open_consultation()
    with pytest.raises(ServiceError) as error:
        publishing.version_publish(
            version=consultation.version,
            effective_date=timezone.localdate() + timedelta(days=400),
            by=None,
        )
    assert error.value.code == "consultation_not_closed"


def test_the_scheduled_task_opens_and_closes_a_consultation_at_its_times():
    draft = publishing.version_create(
        publication=publication(), language="en", title="Draft", body="# A\n\ntext", by=None
    )
    opens = datetime(2030, 5, 1, 0, 0, tzinfo=UTC)
    closes = datetime(2030, 6, 1, 0, 0, tzinfo=UTC)
    with time_machine.travel(opens - timedelta(days=1), tick=False):
        consultation = consultations.consultation_create(
            version=draft, title="C", summary="S", opens_at=opens, closes_at=closes, by=None
        )
        assert consultation.status == Consultation.Status.UPCOMING
        advance_consultations()
        consultation.refresh_from_db()
        assert consultation.status == Consultation.Status.UPCOMING
    with time_machine.travel(opens + timedelta(minutes=1), tick=False):
        assert advance_consultations() == 1
        consultation.refresh_from_db()
        assert consultation.status == Consultation.Status.OPEN
    with time_machine.travel(closes + timedelta(minutes=1), tick=False):
        assert advance_consultations() == 1
        consultation.refresh_from_db()
        assert consultation.status == Consultation.Status.CLOSED
        assert advance_consultations() == 0
    statuses = [h.status for h in consultation.history.order_by("history_date")]
    assert statuses == ["upcoming", "open", "closed"]


def test_the_editor_page_shows_the_lead_time_refusal_on_the_effective_date_field(client):
    editor = staff_user("editor")
    sign_in(client, editor)
    client.post("/account/two-factor/", {"token": current_totp(editor)})
    consultation = close(open_consultation())
    too_early = consultation.earliest_effective_date() - timedelta(days=3)
    page = client.post(
        f"/publications/editor/consultations/{consultation.pk}/",
        {
            "action": "publish",
            "version": consultation.version.pk,
            "publish-effective_date": too_early.isoformat(),
        },
    ).content.decode()
    assert "Effective date: it must be on or after" in page
    assert 'href="#id_publish-effective_date"' in page
