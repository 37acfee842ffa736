import pytest

from publications import demo
from publications.models import Comment, Consultation, Publication, Version

pytestmark = pytest.mark.django_db


def test_the_demo_content_has_the_texts_and_two_consultations_and_can_be_loaded_twice(client):
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
