"""A declaration's documents by API: the browser's checks, the key's organisation only,
idempotent uploads, and the operations described in the schema."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from clearance.models import IdempotencyRecord
from declarations import services
from declarations.models import Document
from tests.declarations.helpers import declaration_data

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def url(declaration):
    return f"/api/v1/declarations/{declaration.pk}/documents/"


def upload(client, declaration, name, content, kind="invoice", **headers):
    file = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    return client.post(
        url(declaration), {"kind": kind, "file": file}, format="multipart", **headers
    )


def stored_files(media):
    return [path for path in media.rglob("*") if path.is_file()]


def test_a_pdf_and_a_png_are_uploaded_listed_and_downloaded(api, api_key, declaration, media):
    pdf = upload(api, declaration, "invoice 1.pdf", PDF)
    assert pdf.status_code == 201, pdf.json()
    png = upload(api, declaration, "photo.bin", PNG, kind="photo")
    assert png.status_code == 201, png.json()
    assert png.json()["content_type"] == "image/png"  # from the bytes, not the name
    assert png.json()["kind"] == "photo"
    assert len(stored_files(media)) == 2

    listed = api.get(url(declaration))
    assert listed.status_code == 200
    results = listed.json()["results"]
    assert [(r["filename"], r["content_type"], r["size"]) for r in results] == [
        ("invoice 1.pdf", "application/pdf", len(PDF)),
        ("photo.bin", "image/png", len(PNG)),
    ]
    assert results == [pdf.json(), png.json()]

    for result, content in zip(results, (PDF, PNG), strict=True):
        response = api.get(result["download"], HTTP_ACCEPT=result["content_type"])
        assert response.status_code == 200
        # One type for every download, as the schema says; the file's own is content_type.
        assert response["Content-Type"] == "application/octet-stream"
        assert response["Content-Disposition"] == f'attachment; filename="{result["filename"]}"'
        assert b"".join(response.streaming_content) == content

    document = Document.objects.get(pk=results[0]["id"])
    assert document.uploaded_by_key == api_key
    assert document.history.get().history_api_key == api_key


def test_a_document_may_be_added_whatever_the_declaration_status(api, declaration, actor):
    services.declaration_cancel(declaration=declaration, actor=actor)
    response = upload(api, declaration, "invoice.pdf", PDF)
    assert response.status_code == 201, response.json()


def test_a_file_too_large_is_refused_and_nothing_is_stored(api, declaration, media, monkeypatch):
    monkeypatch.setattr(Document, "MAX_BYTES", 100)
    response = upload(api, declaration, "big.pdf", PDF + b"x" * 200)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "file", "code": "too_large", "message": response.json()["message"]}
    ]
    assert not Document.objects.exists()
    assert stored_files(media) == []


def test_a_file_of_the_wrong_type_is_refused_whatever_its_name(api, declaration, media):
    response = upload(api, declaration, "invoice.pdf", b"<html><script>alert(1)</script>")
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert (error["field"], error["code"]) == ("file", "file_type")
    assert not Document.objects.exists()
    assert stored_files(media) == []


def test_a_kind_not_offered_is_refused(api, declaration, media):
    response = upload(api, declaration, "invoice.pdf", PDF, kind="passport")
    assert response.status_code == 400  # outside the schema's enum
    assert response.json()["errors"][0]["field"] == "kind"
    assert not Document.objects.exists()
    assert stored_files(media) == []


def test_a_missing_file_or_a_json_body_is_refused(api, declaration):
    missing = api.post(url(declaration), {"kind": "invoice"}, format="multipart")
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["field"] == "file"
    assert missing.json()["errors"][0]["code"] == "required"
    json_body = api.post(url(declaration), {"kind": "invoice", "file": "x"}, format="json")
    assert json_body.status_code == 415
    assert not Document.objects.exists()


def test_another_organisation_gets_404_for_list_upload_and_download(
    api, stranger, declaration, media
):
    document_url = upload(api, declaration, "invoice.pdf", PDF).json()["download"]
    assert stranger.get(url(declaration)).status_code == 404
    refused = upload(stranger, declaration, "mine.pdf", PDF)
    assert refused.status_code == 404
    assert refused.json()["code"] == "not_found"
    assert stranger.get(document_url).status_code == 404
    assert Document.objects.count() == 1
    assert len(stored_files(media)) == 1


def test_a_document_is_found_only_under_its_own_declaration(api, declaration, organisation, actor):
    document = upload(api, declaration, "invoice.pdf", PDF).json()
    other = services.declaration_create(
        organisation=organisation, data=declaration_data(), submit=False, actor=actor
    )
    assert api.get(f"{url(other)}{document['id']}/").status_code == 404
    assert api.get(f"{url(declaration)}{document['id']}/").status_code == 200
    assert api.get(f"{url(declaration)}{document['id'] + 1000}/").status_code == 404


def test_without_a_key_the_answer_is_401(api, declaration):
    document_url = upload(api, declaration, "invoice.pdf", PDF).json()["download"]
    anonymous = APIClient()
    assert anonymous.get(url(declaration)).status_code == 401
    assert upload(anonymous, declaration, "invoice.pdf", PDF).status_code == 401
    response = anonymous.get(document_url)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert Document.objects.count() == 1


def test_the_same_key_and_file_replay_the_answer_and_store_one_document(api, declaration, media):
    first = upload(api, declaration, "invoice.pdf", PDF, HTTP_IDEMPOTENCY_KEY="doc-1")
    second = upload(api, declaration, "invoice.pdf", PDF, HTTP_IDEMPOTENCY_KEY="doc-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Document.objects.count() == 1
    assert len(stored_files(media)) == 1


def test_the_same_key_with_another_file_is_refused(api, declaration, media):
    upload(api, declaration, "invoice.pdf", PDF, HTTP_IDEMPOTENCY_KEY="doc-1")
    same_size = PDF.replace(b"1.7", b"1.6")  # the same name and size, other bytes
    other_bytes = upload(api, declaration, "invoice.pdf", same_size, HTTP_IDEMPOTENCY_KEY="doc-1")
    assert other_bytes.status_code == 422
    error = other_bytes.json()["errors"][0]
    assert (error["field"], error["code"]) == ("Idempotency-Key", "idempotency_key_reused")
    other_kind = upload(
        api, declaration, "invoice.pdf", PDF, kind="other", HTTP_IDEMPOTENCY_KEY="doc-1"
    )
    assert other_kind.status_code == 422
    assert Document.objects.count() == 1
    assert len(stored_files(media)) == 1


def test_a_refused_upload_leaves_its_key_free_for_a_corrected_file(api, declaration, monkeypatch):
    monkeypatch.setattr(Document, "MAX_BYTES", 100)
    refused = upload(api, declaration, "big.pdf", PDF + b"x" * 200, HTTP_IDEMPOTENCY_KEY="k")
    assert refused.status_code == 422
    assert not IdempotencyRecord.objects.exists()
    done = upload(api, declaration, "small.pdf", PDF, HTTP_IDEMPOTENCY_KEY="k")
    assert done.status_code == 201


def test_the_schema_describes_the_three_operations(client):
    response = client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    listing = schema["paths"]["/api/v1/declarations/{id}/documents/"]
    download = schema["paths"]["/api/v1/declarations/{id}/documents/{doc_id}/"]
    assert listing["get"]["operationId"] == "declarations_documents_list"
    assert set(listing["get"]["responses"]) >= {"200", "401", "404"}

    create = listing["post"]
    assert list(create["requestBody"]["content"]) == ["multipart/form-data"]
    body = create["requestBody"]["content"]["multipart/form-data"]["schema"]
    component = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    assert component["properties"]["file"] == {
        "type": "string",
        "format": "binary",
        "description": component["properties"]["file"]["description"],
    }
    assert set(component["required"]) == {"kind", "file"}
    assert set(create["responses"]) == {"201", "400", "401", "404", "413", "415", "422"}
    assert "Idempotency-Key" in [p["name"] for p in create["parameters"]]

    answers = download["get"]["responses"]
    assert set(answers["200"]["content"]) == {"application/octet-stream"}
    assert "Content-Disposition" in answers["200"]["headers"]
    assert set(answers) == {"200", "401", "404"}
