"""CSV files: checked row by row with nothing saved, then imported as the filer chooses."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from clearance.services import apikey_create
from declarations import csvfiles, tasks
from declarations.models import CsvUpload, Declaration, Status
from tests.conftest import wait_for
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(request, settings, tmp_path):
    # The worker test keeps the configured folder: the worker process reads files there.
    if "celery_worker" not in request.fixturenames:
        settings.MEDIA_ROOT = tmp_path


def template_rows():
    return list(csv.DictReader(io.StringIO(csvfiles.template())))


def make_file(declarations: int, lines_each: int, bad_every: int = 0) -> tuple[bytes, set[int]]:
    """A file of ``declarations`` x ``lines_each`` rows; every ``bad_every``-th row has an HS
    code that does not exist. Returns the file and the numbers of the bad rows."""
    first, second = template_rows()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=csvfiles.COLUMNS)
    writer.writeheader()
    bad: set[int] = set()
    row_number = 1
    for d in range(declarations):
        for line in range(lines_each):
            row_number += 1
            row = dict(first if line == 0 else second)
            row["reference"] = f"CSV-{d:05d}"
            row["consignee_id_number"] = f"P{d:012d}"
            if bad_every and (row_number - 1) % bad_every == 0:
                row["hs_code"] = "000000"
                bad.add(row_number)
            writer.writerow(row)
    return out.getvalue().encode(), bad


@pytest.fixture
def seller(client, owner):
    client.force_login(owner)
    return client


def test_the_template_is_a_valid_two_line_declaration(seller):
    response = seller.get("/declarations/upload/template.csv")
    assert response["Content-Disposition"].startswith("attachment;")
    content = response.content
    seller.post("/declarations/upload/", {"file": SimpleUploadedFile("t.csv", content)})
    upload = CsvUpload.objects.get()
    assert (upload.state, upload.valid_declarations, upload.invalid_declarations) == (
        "checked",
        1,
        0,
    )
    assert upload.total_rows == 2


def test_a_5000_line_file_with_one_percent_bad_rows(seller, organisation, monkeypatch, rates_today):
    monkeypatch.setattr(csvfiles, "INLINE_BYTES", 10**9)
    content, bad_rows = make_file(2500, 2, bad_every=100)
    assert len(bad_rows) == 50
    response = seller.post(
        "/declarations/upload/", {"file": SimpleUploadedFile("big.csv", content)}
    )
    upload = CsvUpload.objects.get()
    assert response["Location"] == f"/declarations/upload/{upload.pk}/"
    assert upload.total_rows == 5000
    assert (upload.valid_declarations, upload.invalid_declarations) == (2450, 50)
    assert not Declaration.objects.exists()

    report = seller.get(f"/declarations/upload/{upload.pk}/errors.csv").content.decode()
    errors = list(csv.DictReader(io.StringIO(report)))
    assert {int(e["row"]) for e in errors} == bad_rows
    assert {e["column"] for e in errors} == {"hs_code"}
    assert all("HS 2022" in e["message"] for e in errors)
    page = seller.get(f"/declarations/upload/{upload.pk}/").content.decode()
    assert "Submit only the 2450 valid declarations" in page

    # The whole file cannot be submitted while it has errors.
    seller.post(f"/declarations/upload/{upload.pk}/confirm/", {"only_valid": "0"})
    assert not Declaration.objects.exists()

    seller.post(f"/declarations/upload/{upload.pk}/confirm/", {"only_valid": "1"})
    upload.refresh_from_db()
    assert upload.state == "imported"
    assert upload.imported_declarations == 2450
    bad_references = {f"CSV-{(row - 2) // 2:05d}" for row in bad_rows}
    saved = set(Declaration.objects.values_list("reference", flat=True))
    assert saved == {f"CSV-{d:05d}" for d in range(2500)} - bad_references
    assert Declaration.objects.filter(status=Status.SUBMITTED).count() == 2450
    assert Declaration.objects.first().lines.count() == 2


def test_rows_of_a_declaration_must_be_together_and_agree(seller):
    first, second = template_rows()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=csvfiles.COLUMNS)
    writer.writeheader()
    other = {**first, "reference": "OTHER-1"}
    writer.writerows(
        [first, other, second, other, {**second, "reference": "OTHER-1", "currency": "EUR"}]
    )
    seller.post(
        "/declarations/upload/", {"file": SimpleUploadedFile("x.csv", out.getvalue().encode())}
    )
    upload = CsvUpload.objects.get()
    codes = {(e["row"], e["column"], e["code"]) for e in upload.errors}
    assert (4, "reference", "not_together") in codes
    assert (6, "currency", "differs") in codes


def test_a_file_without_the_columns_is_refused_with_a_reason(seller):
    seller.post("/declarations/upload/", {"file": SimpleUploadedFile("x.csv", b"a,b\n1,2\n")})
    upload = CsvUpload.objects.get()
    assert upload.errors[0]["code"] == "columns"


def test_a_large_file_is_checked_and_imported_by_the_worker_with_progress(
    transactional_db, celery_worker, client, monkeypatch, settings, tmp_path
):
    organisation = OrganisationFactory()
    client.force_login(organisation.owner)
    monkeypatch.setattr(csvfiles, "INLINE_BYTES", 100)
    content, _bad = make_file(20, 3)
    client.post("/declarations/upload/", {"file": SimpleUploadedFile("w.csv", content)})
    upload = CsvUpload.objects.get()
    wait_for(lambda: CsvUpload.objects.get(pk=upload.pk).state == "checked")
    page = client.get(f"/declarations/upload/{upload.pk}/", HTTP_HX_REQUEST="true")
    assert page["HX-Refresh"] == "true"
    client.post(f"/declarations/upload/{upload.pk}/confirm/", {"only_valid": "0"})
    wait_for(lambda: CsvUpload.objects.get(pk=upload.pk).state == "imported")
    assert Declaration.objects.filter(organisation=organisation).count() == 20
    upload.file.delete(save=False)


def test_the_api_takes_a_file_and_a_confirmation(organisation, api_key, other_organisation):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.secret}")
    content, _bad = make_file(3, 2, bad_every=5)
    response = client.post(
        "/api/v1/declarations/upload/",
        {"file": SimpleUploadedFile("a.csv", content)},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["state"], body["valid_declarations"], body["invalid_declarations"]) == (
        "checked",
        2,
        1,
    )
    assert body["errors"][0]["row"] == 6
    refused = client.post(f"/api/v1/declarations/upload/{body['id']}/confirm/", {}, format="json")
    assert refused.status_code == 422
    done = client.post(
        f"/api/v1/declarations/upload/{body['id']}/confirm/", {"only_valid": True}, format="json"
    )
    assert done.json()["state"] == "imported"
    assert Declaration.objects.filter(organisation=organisation).count() == 2
    stranger = APIClient()

    _k, secret = apikey_create(organisation=other_organisation, name="s", by=None)
    stranger.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert stranger.get(f"/api/v1/declarations/upload/{body['id']}/").status_code == 404


def test_the_sweeper_queues_again_uploads_left_checking_or_importing(organisation, monkeypatch):
    queued = []
    monkeypatch.setattr(tasks.check_csv_upload, "delay", lambda pk: queued.append(("check", pk)))
    monkeypatch.setattr(tasks.import_csv_upload, "delay", lambda pk: queued.append(("import", pk)))
    old = timezone.now() - timedelta(hours=1)
    stuck = CsvUpload.objects.create(organisation=organisation, created_at=old)
    importing = CsvUpload.objects.create(
        organisation=organisation, created_at=old, state=CsvUpload.State.IMPORTING
    )
    CsvUpload.objects.create(organisation=organisation)  # recent: still being worked on
    CsvUpload.objects.create(organisation=organisation, created_at=old, state="imported")
    assert tasks.sweep_csv_uploads() == 2
    assert sorted(queued) == [("check", stuck.pk), ("import", importing.pk)]
