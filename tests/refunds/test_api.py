"""The payments API for platforms, scoped to the key's organisation."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from clearance.actors import Actor
from clearance.services import apikey_create
from refunds import payments, statements
from refunds.models import Refund
from tests.factories import OrganisationFactory
from tests.refunds.helpers import callback, due_declaration, post_callback

pytestmark = pytest.mark.django_db


def api_for(organisation):
    _key, secret = apikey_create(organisation=organisation, name="system", by=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def paid(client, organisation, actor):
    declaration = due_declaration(organisation)
    payment, _url = payments.payment_start(declaration=declaration, actor=actor)
    post_callback(client, *callback(payment.reference, "30000", "KRW"))
    return payment


def test_a_platform_reads_its_payments_and_not_anothers(paid, organisation):
    mine = api_for(organisation)
    theirs = api_for(OrganisationFactory())

    listed = mine.get("/api/v1/payments/").json()
    assert [p["reference"] for p in listed["results"]] == [paid.reference]
    assert (listed["count"], listed["next"], listed["previous"]) == (1, None, None)
    assert mine.get("/api/v1/payments/?page=2").status_code == 404
    refused = mine.get("/api/v1/payments/?page=0")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "page"
    assert mine.get(f"/api/v1/payments/{paid.pk}/").json()["status"] == "settled"
    assert theirs.get(f"/api/v1/payments/{paid.pk}/").status_code == 404
    assert theirs.get("/api/v1/payments/").json()["results"] == []


def test_a_platform_asks_for_a_refund_with_evidence_and_reads_its_status(paid, organisation):
    api = api_for(organisation)
    photo = SimpleUploadedFile("box.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 32, "image/png")

    response = api.post(
        "/api/v1/refunds/",
        {
            "declaration": paid.declaration_id,
            "reason": "returned",
            "amount": "10000",
            "return_tracking_number": "RR1KR",
            "evidence": [photo],
        },
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="refund-1",
    )

    assert response.status_code == 201, response.json()
    refund_id = response.json()["id"]
    assert api.get(f"/api/v1/refunds/{refund_id}/").json()["status"] == "approved"
    assert Refund.objects.get().evidence.count() == 1


def test_another_file_under_the_same_name_and_key_is_refused_not_replayed(paid, organisation):
    api = api_for(organisation)

    def ask(content: bytes):
        photo = SimpleUploadedFile("box.png", b"\x89PNG\r\n\x1a\n" + content, "image/png")
        body = {
            "declaration": paid.declaration_id,
            "reason": "returned",
            "amount": "10000",
            "return_tracking_number": "RR1KR",
            "evidence": [photo],
        }
        return api.post(
            "/api/v1/refunds/", body, format="multipart", HTTP_IDEMPOTENCY_KEY="refund-2"
        )

    first = ask(b"\0" * 32)
    again = ask(b"\0" * 32)
    other = ask(b"\1" * 32)

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    assert other.json()["errors"][0]["code"] == "idempotency_key_reused"
    assert Refund.objects.count() == 1


def test_a_refund_over_what_was_paid_is_refused_with_the_field(paid, organisation):
    api = api_for(organisation)

    response = api.post(
        "/api/v1/refunds/",
        {"declaration": paid.declaration_id, "reason": "duplicate", "amount": "30001"},
        format="multipart",
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "amount"


def test_a_refund_on_another_organisations_declaration_is_404(paid):
    api = api_for(OrganisationFactory())

    response = api.post(
        "/api/v1/refunds/",
        {"declaration": paid.declaration_id, "reason": "duplicate", "amount": "1"},
        format="multipart",
    )

    assert response.status_code == 404


def test_a_platform_pays_its_statement_by_api():
    platform = OrganisationFactory(kind="platform")
    statements.deferred_account_open(organisation=platform, by=None)
    declaration = due_declaration(platform, total="4200")
    statements.deferred_release(declaration=declaration, actor=Actor())
    [statement] = statements.statements_issue(period=datetime.date.today())
    api = api_for(platform)

    assert api.get("/api/v1/statements/").json()["results"][0]["total"] == "4200.0000"
    response = api.post(f"/api/v1/statements/{statement.pk}/pay/")

    assert response.status_code == 201
    assert "/sandbox-gateway/checkout/?token=" in response.json()["redirect_url"]
    assert (
        api_for(OrganisationFactory()).get(f"/api/v1/statements/{statement.pk}/").status_code == 404
    )
