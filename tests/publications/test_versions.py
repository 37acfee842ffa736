from datetime import date

import pytest

from clearance.errors import ServiceError
from publications import publishing
from publications.models import Version
from tests.factories import staff_user
from tests.publications.helpers import RETURNS_POLICY, publication, published

pytestmark = pytest.mark.django_db


def test_publishing_a_new_version_supersedes_the_old_one_and_records_the_editor():
    editor = staff_user("editor")
    pub = publication()
    first = published(pub, effective=date(2026, 1, 1), by=editor)
    second = published(
        pub, body=RETURNS_POLICY + "\n# Exceptions\n\nPerishable goods.", by=editor,
        effective=date(2026, 3, 1), change_note="Adds exceptions",
    )  # fmt: skip
    first.refresh_from_db()
    assert first.status == Version.Status.SUPERSEDED
    assert second.status == Version.Status.PUBLISHED
    assert (second.number, first.number) == (2, 1)
    last = first.history.latest()
    assert last.status == Version.Status.SUPERSEDED
    assert last.history_user == editor


def test_a_version_cannot_be_published_without_an_effective_date():
    draft = publishing.version_create(
        publication=publication(), language="en", title="T", body="text", by=None
    )
    with pytest.raises(ServiceError) as error:
        publishing.version_publish(version=draft, by=None)
    assert error.value.field == "effective_date"


def test_a_superseded_version_cannot_be_published_again():
    pub = publication()
    first = published(pub, effective=date(2026, 1, 1))
    published(pub, effective=date(2026, 2, 1))
    first.refresh_from_db()
    with pytest.raises(ServiceError) as error:
        publishing.version_publish(version=first, by=None)
    assert error.value.code == "invalid_transition"


def test_markdown_is_rendered_and_scripts_and_javascript_links_are_removed():
    version = published(
        body="# Intro\n\n<script>alert(1)</script>**bold** [x](javascript:alert(1)) "
        "<img src=x onerror=alert(1)>"
    )
    assert "<strong>bold</strong>" in version.body_html
    assert '<h2 id="section-1">Intro</h2>' in version.body_html
    for bad in ("<script", "javascript:", "onerror", "<img"):
        assert bad not in version.body_html


def test_the_text_in_force_on_a_date_is_the_version_effective_then(client):
    pub = publication()
    published(pub, body="# Window\n\nReturns within 30 days.", effective=date(2025, 1, 1))
    published(pub, body="# Window\n\nReturns within 90 days.", effective=date(2026, 1, 1))
    assert "30 days" in pub.in_force(on=date(2025, 6, 30), language="en").body
    assert "90 days" in pub.in_force(on=date(2026, 1, 1), language="en").body
    assert pub.in_force(on=date(2024, 12, 31), language="en") is None

    page = client.get(f"/publications/{pub.slug}/", {"on": "2025-06-30"}).content.decode()
    assert "Returns within 30 days." in page
    assert "as it was in force on" in page
    current = client.get(f"/publications/{pub.slug}/").content.decode()
    assert "Returns within 90 days." in current
    assert "Last updated" in current


def test_the_history_lists_versions_and_the_diff_marks_added_and_removed_lines(client):
    pub = publication()
    old = published(pub, body="# Window\n\nReturns within 30 days.", effective=date(2025, 1, 1),
                    change_note="First edition")  # fmt: skip
    new = published(pub, body="# Window\n\nReturns within 90 days.", effective=date(2026, 1, 1),
                    change_note="Longer window", change_kind="minor")  # fmt: skip
    history = client.get(f"/publications/{pub.slug}/history/").content.decode()
    assert "First edition" in history and "Longer window" in history and "Minor change" in history

    page = client.get(
        f"/publications/{pub.slug}/diff/", {"from": old.pk, "to": new.pk}
    ).content.decode()
    assert '<del><span class="usa-sr-only">Removed: </span>Returns within 30 days.</del>' in page
    assert '<ins><span class="usa-sr-only">Added: </span>Returns within 90 days.</ins>' in page
    assert "1 line added" in page


def test_a_draft_is_not_public_and_its_diff_is_a_404(client):
    pub = publication()
    live = published(pub)
    draft = publishing.version_create(
        publication=pub, language="en", title="Secret draft", body="x", by=None
    )
    assert client.get(f"/publications/{pub.slug}/versions/{draft.pk}/").status_code == 404
    response = client.get(f"/publications/{pub.slug}/diff/", {"from": live.pk, "to": draft.pk})
    assert response.status_code == 404
    unpublished = publication()
    assert client.get(f"/publications/{unpublished.slug}/").status_code == 404


def test_a_korean_reader_gets_the_korean_translation_and_an_english_one_gets_english(client):
    pub = publication()
    published(pub, title="Returns policy", language="en")
    published(
        pub, title="반품 정책", body="# 범위\n\n반품된 물품의 관세는 환급됩니다.", language="ko"
    )
    english = client.get(f"/publications/{pub.slug}/", HTTP_ACCEPT_LANGUAGE="en").content
    korean = client.get(f"/publications/{pub.slug}/", HTTP_ACCEPT_LANGUAGE="ko").content
    assert '<h1 lang="en">Returns policy</h1>' in english.decode()
    assert '<h1 lang="ko">반품 정책</h1>' in korean.decode()
