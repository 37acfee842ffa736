import pytest
from django.utils import timezone

from publications import publishing
from publications.models import Version
from tests.publications.helpers import publication, published

pytestmark = pytest.mark.django_db


def test_search_ranks_title_matches_first_and_highlights_the_words(client):
    in_body = published(
        title="Payment methods",
        body="# Paying\n\nCards are accepted. Goods may be returned under the returns rules.",
    )
    in_title = published(
        title="Returns policy",
        body="# Scope\n\nHow returned goods are refunded. Returns within 90 days.",
    )
    published(title="Prohibited goods", body="# List\n\nWeapons and narcotics.")
    found = list(Version.objects.search("returns"))
    assert [v.pk for v in found] == [in_title.pk, in_body.pk]
    assert "\ue000" in found[0].snippet

    page = client.get("/search/", {"q": "returns"}).content.decode()
    assert "2 results" in page
    assert "<mark>Returns</mark> within 90 days" in page
    assert page.index("Returns policy") < page.index("Payment methods")


def test_snippets_are_escaped_apart_from_the_highlight(client):
    published(title="Odd", body="Returns of <b>bold</b> & co.\n\n    <script>x</script> returns")
    page = client.get("/search/", {"q": "returns"}).content.decode()
    assert "<b>bold</b>" not in page
    assert "<script>x" not in page


def test_search_filters_by_kind_language_topic_and_date(client):
    topic = publishing.topic_create(slug="payments", name="Payments", name_ko="결제")
    faq = published(publication(kind="faq", topics=[topic]), title="Customs FAQ",
                    body="Questions about customs duties.")  # fmt: skip
    law = published(publication(kind="law"), title="Customs Act", body="Customs duties apply.")
    korean = published(publication(kind="faq"), title="관세 안내", language="ko",
                       body="관세 납부 방법 안내")  # fmt: skip
    assert {v.pk for v in Version.objects.search("customs")} == {faq.pk, law.pk}
    by_kind = client.get("/search/", {"q": "customs", "kind": "law"}).content.decode()
    assert "Customs Act" in by_kind and "Customs FAQ" not in by_kind
    by_topic = client.get("/search/", {"q": "customs", "topic": "payments"}).content.decode()
    assert "Customs FAQ" in by_topic and "Customs Act" not in by_topic
    future = (timezone.localdate().replace(year=timezone.localdate().year + 1)).isoformat()
    assert "0 results" in client.get("/search/", {"q": "customs", "since": future}).content.decode()
    in_korean = client.get(
        "/search/", {"q": "관세", "language": "ko"}, HTTP_ACCEPT_LANGUAGE="ko"
    ).content.decode()
    assert "관세 안내" in in_korean and "<mark>관세</mark>" in in_korean
    assert korean.search_config == "simple"


def test_superseded_texts_are_not_found_only_the_current_one():
    pub = publication()
    published(pub, title="Old returns", body="returns within 30 days",
              effective=timezone.localdate().replace(year=2020))  # fmt: skip
    current = published(pub, title="New returns", body="returns within 90 days")
    assert [v.pk for v in Version.objects.search("returns")] == [current.pk]
