from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from clearance.presets import load_presets
from publications import demo
from publications.models import Comment, Consultation, Publication, Version

pytestmark = pytest.mark.django_db


def test_the_demo_content_has_the_texts_and_two_consultations_and_can_be_loaded_twice(client):
    load_presets()  # the threshold regulation states the regime's amounts
    assert demo.seed(editor=None) >= 15
    assert demo.seed(editor=None) == 0
    assert Publication.objects.count() >= 15
    kinds = set(Publication.objects.values_list("kind", flat=True))
    assert {"procedure", "returns_policy", "special_requirement", "training", "law"} <= kinds
    assert Version.objects.current().filter(language="ko").count() >= 2
    open_one = Consultation.objects.get(status=Consultation.Status.OPEN)
    closed = Consultation.objects.get(status=Consultation.Status.CONCLUDED)
    assert open_one.comments.published().count() >= 2
    assert closed.final_version is not None and closed.response_html
    assert Comment.objects.filter(theme__isnull=False).exists()
    page = client.get(f"/publications/consultations/{closed.pk}/").content.decode()
    assert "two-year" in page and "Review interval" in page
    assert client.get("/search/", {"q": "returns"}).status_code == 200


def test_the_demo_is_a_history_in_which_no_text_applies_before_it_was_published():
    load_presets()
    demo.seed(editor=None)
    now = timezone.now()
    for version in Version.objects.public():
        assert version.published_at is not None and version.published_at <= now
        assert timezone.localdate(version.published_at) <= version.effective_date, version

    first = Version.objects.get(publication__slug="how-to-declare", language="en")
    assert first.effective_date == timezone.localdate() - timedelta(days=400)

    shortest = timedelta(days=settings.CONSULTATION_MIN_OPEN_DAYS)
    for consultation in Consultation.objects.all():
        assert consultation.closes_at - consultation.opens_at >= shortest, consultation

    closed = Consultation.objects.get(status=Consultation.Status.CONCLUDED)
    final = closed.final_version
    assert final is not None and final.published_at is not None
    assert closed.closes_at <= final.published_at == closed.response_published_at
    assert final.effective_date == closed.earliest_effective_date() < timezone.localdate()
    assert Version.objects.current().get(publication__slug="de-minimis-threshold") == final

    open_one = Consultation.objects.get(status=Consultation.Status.OPEN)
    assert open_one.closes_at > now
    assert "within 365 days of release" in " ".join(open_one.version.plain_text.split())
