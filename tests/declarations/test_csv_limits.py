"""CSV files that are too large, that are not CSV, or that carry formulas: refused or reported
with a reason, nothing half-saved, and nothing handed back that a spreadsheet would run."""

import csv
import http.client
import io
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect
from rest_framework.test import APIClient

from declarations import csvfiles
from declarations.models import CsvUpload
from tests.conftest import assert_accessible, sign_in
from tests.declarations.test_csv import make_file, template_rows
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def seller(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def api(api_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.secret}")
    return client


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_a_file_over_the_csv_limit_is_refused_in_the_page_and_by_api(
    seller, api, settings, tmp_path
):
    content, _bad = make_file(10, 2)
    settings.CSV_UPLOAD_MAX_BYTES = len(content) - 1

    page = seller.post("/declarations/upload/", {"file": SimpleUploadedFile("a.csv", content)})

    assert page.status_code == 200
    assert "The file is larger than" in page.content.decode()
    answer = api.post(
        "/api/v1/declarations/upload/",
        {"file": SimpleUploadedFile("a.csv", content)},
        format="multipart",
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "file"
    assert answer.json()["errors"][0]["code"] == "too_large"
    assert CsvUpload.objects.count() == 0
    assert stored_files(tmp_path) == []


@pytest.mark.django_db(transaction=True)
def test_a_request_over_the_request_limit_is_refused_before_its_body_is_read(
    live_server, api_key, settings
):
    settings.REQUEST_MAX_BYTES = 1024 * 1024
    server = urlsplit(live_server.url)
    connection = http.client.HTTPConnection(server.hostname, server.port, timeout=10)
    connection.putrequest("POST", "/api/v1/declarations/upload/")
    connection.putheader("Authorization", f"Bearer {api_key.secret}")
    connection.putheader("Content-Type", "multipart/form-data; boundary=x")
    connection.putheader("Content-Length", str(100 * 1024 * 1024))
    connection.endheaders()
    connection.send(b"--x\r\n")  # 100 MB announced, a few bytes sent: only an unread body answers

    response = connection.getresponse()

    assert response.status == 413
    assert b'"code":"too_large"' in response.read().replace(b" ", b"")
    connection.close()
    assert CsvUpload.objects.count() == 0


def test_a_page_request_over_the_limit_gets_a_page_that_says_why(seller, settings):
    settings.REQUEST_MAX_BYTES = 100
    content, _bad = make_file(2, 1)

    page = seller.post("/declarations/upload/", {"file": SimpleUploadedFile("a.csv", content)})

    assert page.status_code == 413
    assert "The request is larger than" in page.content.decode()


def test_a_nul_character_is_an_error_on_its_field_and_the_check_finishes(seller, api):
    first, second = template_rows()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=csvfiles.COLUMNS)
    writer.writeheader()
    writer.writerows([first, {**second, "description": "Cotton\x00shirt"}])

    seller.post(
        "/declarations/upload/", {"file": SimpleUploadedFile("n.csv", out.getvalue().encode())}
    )
    answer = api.post(
        "/api/v1/declarations/upload/",
        {"file": SimpleUploadedFile("n.csv", out.getvalue().encode())},
        format="multipart",
    )

    assert answer.status_code == 201
    for upload in CsvUpload.objects.all():
        assert upload.state == CsvUpload.State.CHECKED
        errors = [(e["row"], e["column"], e["code"]) for e in upload.errors]
        assert errors == [(3, "description", "nul_character")]


def test_a_row_the_csv_reader_cannot_read_is_an_error_on_that_row(seller):
    first, second = template_rows()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=csvfiles.COLUMNS)
    writer.writeheader()
    writer.writerows([first, {**second, "description": "x" * (csv.field_size_limit() + 1)}])

    seller.post(
        "/declarations/upload/", {"file": SimpleUploadedFile("l.csv", out.getvalue().encode())}
    )

    upload = CsvUpload.objects.get()
    assert upload.state == CsvUpload.State.CHECKED
    assert [(e["row"], e["code"]) for e in upload.errors] == [(3, "not_csv")]


def test_the_error_report_hands_back_no_live_formula(seller):
    first, _second = template_rows()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=csvfiles.COLUMNS)
    writer.writeheader()
    writer.writerow({**first, "reference": '=HYPERLINK("http://x.test","open")', "hs_code": "0"})
    seller.post(
        "/declarations/upload/", {"file": SimpleUploadedFile("f.csv", out.getvalue().encode())}
    )
    upload = CsvUpload.objects.get()

    report = seller.get(f"/declarations/upload/{upload.pk}/errors.csv").content.decode()

    rows = list(csv.reader(io.StringIO(report)))[1:]
    assert rows
    assert all(row[1] == '\'=HYPERLINK("http://x.test","open")' for row in rows)
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_the_audits_12_mb_file_is_refused_under_the_default_limit(seller, api, tmp_path):
    header, rows = csvfiles.template().split("\n", 1)
    content = (header + "\n" + rows * (12 * 1024 * 1024 // len(rows) + 1)).encode()
    assert len(content) > 12 * 1024 * 1024

    page = seller.post("/declarations/upload/", {"file": SimpleUploadedFile("big.csv", content)})
    answer = api.post(
        "/api/v1/declarations/upload/",
        {"file": SimpleUploadedFile("big.csv", content)},
        format="multipart",
    )

    assert "The file is larger than 10 MB" in page.content.decode()
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["code"] == "too_large"
    assert CsvUpload.objects.count() == 0
    assert stored_files(tmp_path) == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_too_large_page_says_why_and_is_accessible(page, live_server, settings, tmp_path):
    organisation = OrganisationFactory(name="Big Files Ltd")
    settings.REQUEST_MAX_BYTES = 64 * 1024
    sign_in(page, live_server.url, organisation.owner.email)
    big = tmp_path / "big.csv"
    big.write_bytes(make_file(400, 1)[0])
    page.goto(live_server.url + "/declarations/upload/")
    page.locator("input[type=file]").set_input_files(str(big))
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator("h1")).to_have_text("What you sent is too large")
    assert_accessible(page)
