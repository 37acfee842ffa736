"""Invoices and photos: the type from the content, a size limit, generated names, and served
as attachments only to the filer and to officers."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from declarations import services
from declarations.models import Document
from tests.declarations.helpers import declaration_data
from tests.factories import staff_user

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def declaration(organisation, actor):
    return services.declaration_create(
        organisation=organisation, data=declaration_data(), submit=True, actor=actor
    )


def upload(client, declaration, name, content, kind="invoice"):
    return client.post(
        f"/declarations/{declaration.pk}/documents/",
        {"kind": kind, "file": SimpleUploadedFile(name, content, content_type="text/plain")},
    )


def test_a_pdf_is_stored_under_a_generated_name_and_served_as_an_attachment(
    client, owner, declaration, tmp_path
):
    client.force_login(owner)
    upload(client, declaration, "../../invoice 1.pdf", PDF)
    document = Document.objects.get()
    assert document.content_type == "application/pdf"
    assert document.original_name == "invoice 1.pdf"
    assert "invoice" not in document.file.name
    assert document.file.path.startswith(str(tmp_path))
    assert document.history.get().history_user == owner
    response = client.get(f"/declarations/documents/{document.pk}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == PDF


def test_the_type_comes_from_the_content_not_the_name(client, owner, declaration):
    client.force_login(owner)
    upload(client, declaration, "photo.png", b"<html><script>alert(1)</script>")
    assert not Document.objects.exists()
    upload(client, declaration, "photo.txt", PNG, kind="photo")
    assert Document.objects.get().content_type == "image/png"


def test_a_file_over_the_limit_is_refused(client, owner, declaration, monkeypatch):
    monkeypatch.setattr(Document, "MAX_BYTES", 100)
    client.force_login(owner)
    upload(client, declaration, "big.pdf", PDF + b"x" * 200)
    assert not Document.objects.exists()


def test_only_the_filer_and_officers_get_a_document(client, owner, declaration, other_organisation):
    client.force_login(owner)
    upload(client, declaration, "invoice.pdf", PDF)
    document = Document.objects.get()
    url = f"/declarations/documents/{document.pk}/"

    client.force_login(other_organisation.owner)
    assert client.get(url).status_code == 404

    officer = staff_user("officer")
    client.force_login(officer)
    assert client.get(url).status_code == 404  # not until the second factor is passed
    request = client.get("/").wsgi_request
    request.user = officer
    otp_login(request, TOTPDevice.objects.get(user=officer))
    request.session.save()
    assert client.get(url).status_code == 200
