from datetime import timedelta

import pytest
from django.utils import timezone

from publications.models import Consultation, Publication, Version
from tests.publications.test_comments import sign_in_editor

pytestmark = pytest.mark.django_db

BODY = "# Who may declare\n\nAny seller.\n\n# What to file\n\nSeven data elements."


def test_an_editor_writes_a_text_publishes_it_and_opens_a_consultation_on_a_new_draft(client):
    editor = sign_in_editor(client)
    response = client.post(
        "/publications/editor/texts/",
        {"publication-slug": "how-to-declare", "publication-kind": "procedure",
         "version-language": "en", "version-title": "How to declare a parcel",
         "version-body": BODY, "version-change_kind": "major"},
    )  # fmt: skip
    assert response.status_code == 302
    pub = Publication.objects.get(slug="how-to-declare")
    draft = pub.versions.get()
    assert (draft.status, draft.author) == (Version.Status.DRAFT, editor)
    page = "/publications/editor/texts/how-to-declare/"
    client.post(page, {"action": "publish", "version": draft.pk,
                       "publish-effective_date": timezone.localdate().isoformat()})  # fmt: skip
    draft.refresh_from_db()
    assert draft.status == Version.Status.PUBLISHED
    assert draft.history.latest().history_user == editor

    client.post(page, {"action": "version", "version-language": "en",
                       "version-title": "How to declare a parcel", "version-change_kind": "minor",
                       "version-body": BODY + "\n\n# Deadlines\n\nBefore arrival."})  # fmt: skip
    second = pub.versions.get(number=2)
    now = timezone.localtime()
    response = client.post(
        page,
        {"action": "consult", "version": second.pk, "consult-title": "Deadlines",
         "consult-summary": "We propose a deadline.", "consult-questions": "Is it fair?",
         "consult-opens_at": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
         "consult-closes_at": (now + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")},
    )  # fmt: skip
    assert response.status_code == 302
    consultation = Consultation.objects.get(version=second)
    assert consultation.status == Consultation.Status.OPEN
    public = client.get(f"/publications/consultations/{consultation.pk}/").content.decode()
    assert "Comment on this section: Deadlines" in public


def test_a_consultation_that_closes_before_it_opens_is_refused_on_the_closing_field(client):
    sign_in_editor(client)
    client.post(
        "/publications/editor/texts/",
        {"publication-slug": "thresholds", "publication-kind": "regulation",
         "version-language": "en", "version-title": "Thresholds", "version-body": BODY,
         "version-change_kind": "major"},
    )  # fmt: skip
    draft = Publication.objects.get(slug="thresholds").versions.get()
    page = client.post(
        "/publications/editor/texts/thresholds/",
        {"action": "consult", "version": draft.pk, "consult-title": "T", "consult-summary": "S",
         "consult-opens_at": "2030-02-01T00:00", "consult-closes_at": "2030-01-01T00:00"},
    ).content.decode()  # fmt: skip
    assert 'href="#id_consult-closes_at"' in page
    assert not Consultation.objects.exists()
