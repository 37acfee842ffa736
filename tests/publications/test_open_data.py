import csv
import io
import uuid

import pytest

from clearance.spreadsheets import csv_cell
from publications import comments, publishing
from tests.factories import UserFactory, staff_user
from tests.publications.helpers import open_consultation, published
from tests.publications.test_comments import sign_in_editor, submit

pytestmark = pytest.mark.django_db


def test_the_api_needs_no_key_and_shows_only_published_comments(client):
    consultation = open_consultation()
    editor = staff_user("editor")
    shown = submit(consultation, body="Published view", user=UserFactory())
    comments.comment_moderate(comment=shown, approve=True, by=editor)
    submit(consultation, body="Waiting view", user=UserFactory())
    rejected = submit(consultation, body="Rejected view", user=UserFactory())
    comments.comment_moderate(comment=rejected, approve=False, by=editor)
    submit(consultation, body="Unconfirmed view")

    body = client.get(f"/api/v1/consultations/{consultation.pk}/comments/").json()
    assert [c["body"] for c in body["results"]] == ["Published view"]
    assert set(body["results"][0]) == {
        "tracking_number", "section", "body", "author", "on_behalf", "created_at",
        "campaign", "theme",
    }  # fmt: skip
    assert "email" not in str(body)
    detail = client.get(f"/api/v1/consultations/{consultation.pk}/").json()
    assert detail["published_comments"] == 1
    assert detail["questions"] == ["Is 90 days long enough?", "What proof of return should count?"]


def test_the_api_lists_published_publications_and_every_public_version(client):
    version = published(title="Thresholds")
    publishing.version_create(
        publication=version.publication, language="en", title="Secret", body="x", by=None
    )
    listing = client.get("/api/v1/publications/").json()
    [item] = [p for p in listing["results"] if p["slug"] == version.publication.slug]
    assert [v["title"] for v in item["current"]] == ["Thresholds"]
    versions = client.get(f"/api/v1/publications/{version.publication.slug}/versions/").json()
    assert [v["title"] for v in versions["results"]] == ["Thresholds"]


def test_the_api_refuses_writes(client):
    assert client.post("/api/v1/publications/", {}).status_code == 405


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised():
    for dangerous in ('=HYPERLINK("x")', "+1", "-1+2", "@SUM(A1)", "\tx", "\rx"):
        assert csv_cell(dangerous) == "'" + dangerous
    assert csv_cell("plain text") == "plain text"


def test_editors_export_comments_as_csv_with_formulas_neutralised(client):
    consultation = open_consultation()
    submit(consultation, body='=HYPERLINK("http://evil.example","click")', user=UserFactory(),
           name="@attacker")  # fmt: skip
    assert (
        client.get(f"/publications/editor/consultations/{consultation.pk}/comments.csv").status_code
        == 302
    )  # signed out: sent to sign in
    sign_in_editor(client)
    response = client.get(f"/publications/editor/consultations/{consultation.pk}/comments.csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][0] == "tracking_number"
    assert rows[1][-1] == '\'=HYPERLINK("http://evil.example","click")'


def test_the_open_data_api_throttles_each_address(client, settings):
    settings.OPEN_DATA_API_RATE = "2/min"
    address = f"198.51.100.{uuid.uuid4().int % 250}-{uuid.uuid4().hex[:6]}"
    codes = [
        client.get("/api/v1/consultations/", REMOTE_ADDR=address).status_code for _ in range(3)
    ]
    assert codes == [200, 200, 429]
    body = client.get("/api/v1/consultations/", REMOTE_ADDR=address).json()
    assert body["code"] == "throttled"
    # Another address is not held back by the first one's use.
    assert client.get("/api/v1/consultations/", REMOTE_ADDR=address + "x").status_code == 200
