"""A platform's day through a client generated from the schema the server serves.

The schema is read from the live server, openapi-python-client generates a Python package
from it into a temporary directory (nothing is written in the project), and every call of the
day goes through that package: create and submit a declaration, send a batch, list with
filters, answer an officer's question, add a document, estimate a parcel, ask for a refund
and read the event feed from a cursor. If the schema and the server disagree, the generated
code fails to import, sends what the server refuses, or cannot read what it answers.
"""

import datetime
import importlib
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from django.test import Client
from django.utils import timezone

from clearance.actors import Actor
from clearance.models import Role
from clearance.review import services as review
from clearance.review.models import ReviewCase
from clearance.risk import scoring as risk
from clearance.risk.models import RiskSettings
from clearance.services import apikey_create
from refunds import payments
from tests.conftest import rates_for_today
from tests.declarations.helpers import declaration_data
from tests.factories import OrganisationFactory, hs_rule, staff_user
from tests.refunds.helpers import callback, due_declaration, post_callback

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "clearance_client"
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def generated(live_server: Any, tmp_path: Path) -> Iterator[ModuleType]:
    """The client package generated from the live server's schema, imported."""
    schema = httpx.get(f"{live_server.url}/api/v1/schema/", timeout=30)
    assert schema.status_code == 200
    (tmp_path / "schema.yaml").write_bytes(schema.content)
    # No post hooks: the generated code is used as generated, not formatted.
    (tmp_path / "config.yaml").write_text("post_hooks: []\n")
    run = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(tmp_path / "schema.yaml"),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / PACKAGE),
            "--config",
            str(tmp_path / "config.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Warning" not in run.stdout + run.stderr, run.stdout + run.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def api(name: str) -> Any:
    """An operation's module in the generated package (``events.events_list``)."""
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def models() -> Any:
    return importlib.import_module(f"{PACKAGE}.models")


def file_of(content: bytes, name: str, mime: str) -> Any:
    types = importlib.import_module(f"{PACKAGE}.types")
    return types.File(payload=io.BytesIO(content), file_name=name, mime_type=mime)


def ok(response: Any, status: int) -> Any:
    """The parsed answer of a ``sync_detailed`` call that had to answer ``status``."""
    assert response.status_code == status, response.content
    return response.parsed


@pytest.mark.django_db(transaction=True)
def test_a_platforms_day_through_the_generated_client(generated, live_server, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    rates_for_today()
    RiskSettings.objects.update_or_create(pk=1, defaults={"random_share": 0})
    hs_rule("8518", 45, "Headphones are watched: HS {value}.", "Headphones watch")
    organisation = OrganisationFactory(name="Generated Client Shop")
    _key, secret = apikey_create(organisation=organisation, name="platform", by=None)
    client = generated.AuthenticatedClient(base_url=live_server.url, token=secret)
    m = models()
    started = timezone.now() - datetime.timedelta(seconds=1)

    # The feed from the start, before anything happens.
    first = ok(api("events.events_list").sync_detailed(client=client), 200)
    assert first.results == []
    cursor = first.next_

    # Create a draft, then submit it.
    data = declaration_data(reference="DAY-1")
    created = ok(
        api("declarations.declarations_create").sync_detailed(
            client=client, body=m.CreateRequest.from_dict(data), idempotency_key="day-1"
        ),
        201,
    )
    assert created.status == m.DeclarationStatusEnum.DRAFT
    submitted = ok(
        api("declarations.declarations_submit_create").sync_detailed(created.id, client=client),
        200,
    )
    assert submitted.status == m.DeclarationStatusEnum.SUBMITTED

    # A batch of two drafts.
    batch = ok(
        api("declarations.declarations_batch_create").sync_detailed(
            client=client,
            body=m.BatchRequest.from_dict(
                {
                    "declarations": [
                        declaration_data(reference="DAY-2"),
                        declaration_data(reference="DAY-3"),
                    ],
                    "submit": False,
                }
            ),
        ),
        200,
    )
    assert (batch.created, batch.failed) == (2, 0)

    # List with filters.
    listing = api("declarations.declarations_list")
    drafts = ok(
        listing.sync_detailed(
            client=client, status=m.DeclarationsListStatus.DRAFT, created_after=started
        ),
        200,
    )
    assert sorted(d.reference for d in drafts.results) == ["DAY-2", "DAY-3"]
    by_reference = ok(listing.sync_detailed(client=client, reference="DAY-1"), 200)
    assert [d.id for d in by_reference.results] == [created.id]

    # An officer asks a question about the submitted declaration; the platform answers it
    # with a photo.
    risk.score_declarations([created.id])
    officer = staff_user(Role.OFFICER)
    case = ReviewCase.objects.get(declaration_id=created.id)
    review.case_claim(case=case, by=officer)
    review.info_request(
        declaration=case.declaration,
        question="Which model is it?",
        due_on=timezone.localdate() + datetime.timedelta(days=3),
        by=officer,
    )
    questions = ok(
        api("declarations.declarations_information_list").sync_detailed(created.id, client=client),
        200,
    )
    assert [q.question for q in questions] == ["Which model is it?"]
    answered = ok(
        api("declarations.declarations_information_create").sync_detailed(
            created.id,
            client=client,
            body=m.AnswerRequest(
                answer="Model X100.",
                documents=[file_of(PNG, "label.png", "image/png")],
                kind=m.DocumentKindEnum.PHOTO,
            ),
        ),
        200,
    )
    assert answered.answer == "Model X100."

    # An invoice, uploaded and downloaded again.
    document = ok(
        api("declarations.declarations_documents_create").sync_detailed(
            created.id,
            client=client,
            body=m.DocumentUploadRequest(
                kind=m.DocumentKindEnum.INVOICE, file=file_of(PDF, "invoice.pdf", "application/pdf")
            ),
        ),
        201,
    )
    assert document.content_type == "application/pdf"
    downloaded = ok(
        api("declarations.declarations_documents_download").sync_detailed(
            created.id, document.id, client=client
        ),
        200,
    )
    assert downloaded.payload.read() == PDF

    # An estimate for a parcel not filed.
    estimate = ok(
        api("estimate.estimate_create").sync_detailed(
            client=client, body=m.EstimateRequest.from_dict(estimate_body(data))
        ),
        200,
    )
    assert estimate.total_due.currency == "KRW"

    # A refund on a declaration paid and released, with the return's evidence.
    paid = due_declaration(organisation)
    payment, _url = payments.payment_start(declaration=paid, actor=Actor())
    post_callback(Client(), *callback(payment.reference, "30000", "KRW"))
    refund = ok(
        api("refunds.refunds_create").sync_detailed(
            client=client,
            body=m.RefundRequestRequest(
                declaration=paid.pk,
                reason=m.ReasonEnum.RETURNED,
                amount="10000",
                return_tracking_number="RR1KR",
                evidence=[file_of(PNG, "box.png", "image/png")],
            ),
        ),
        201,
    )
    assert refund.declaration == paid.pk
    refunds = ok(api("refunds.refunds_list").sync_detailed(client=client), 200)
    assert [r.id for r in refunds.results] == [refund.id]

    # The feed from the cursor read at the start: the day's moves, in order.
    feed = ok(api("events.events_list").sync_detailed(client=client, after=cursor), 200)
    moves = [(e.declaration.reference, e.type_) for e in feed.results]
    assert ("DAY-1", "declaration.submitted") in moves
    assert ("DAY-1", "declaration.info_requested") in moves
    assert moves.index(("DAY-1", "declaration.submitted")) < moves.index(
        ("DAY-1", "declaration.info_requested")
    )
    assert any(kind.startswith("refund.") for _ref, kind in moves)
    later = ok(api("events.events_list").sync_detailed(client=client, after=feed.next_), 200)
    assert later.results == []


def estimate_body(data: dict[str, Any]) -> dict[str, Any]:
    """The parcel of a declaration, as the estimator takes it."""
    return {
        "transport_mode": data["transport_mode"],
        "purpose": data["purpose"],
        "currency": data["currency"],
        "seller": {"country": data["seller"]["country"]},
        "consignee": {"country": data["consignee"]["country"]},
        "lines": [
            {
                "description": line["description"],
                "hs_code": line["hs_code"],
                "quantity": line["quantity"],
                "value": line["value"],
                "origin_country": line["origin_country"],
            }
            for line in data["lines"]
        ],
    }
