"""Amounts on the pages, PDFs and mails a person reads: formatted, never "None", held
assessments said in words, demo exchange rates noted beside the amounts, the sandbox named."""

import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.core import signing
from django.template.loader import render_to_string
from django.utils import timezone, translation

from clearance.actors import Actor
from clearance.mail import render_message
from clearance.models import Notification, Role
from clearance.review import notices as release_notices
from clearance.review.models import ReleaseNotice
from declarations.models import Declaration, DeclarationVersion, Status
from refunds import documents, payments
from refunds.models import Payment
from refunds.providers import SandboxProvider
from tests.factories import current_totp, staff_user
from tests.refunds.helpers import callback, due_declaration, post_callback

pytestmark = pytest.mark.django_db

NBSP = "\u00a0"
DEMO_RATE = "Demo rate: USD carried forward from the ECB rate of 2026-04-13"
SANDBOX = "Sandbox: no money moves."


@pytest.fixture(autouse=True)
def sandbox(settings):
    settings.PAYMENT_PROVIDER = "sandbox"


def money(amount: str, currency: str) -> dict[str, str]:
    return {"amount": amount, "currency": currency}


def assessed(organisation: Any, *, status: str) -> Declaration:
    """A declaration whose frozen assessment converted USD with a demo exchange rate."""
    declaration = Declaration.objects.create(
        organisation=organisation,
        reference=f"MONEY-{uuid.uuid4().hex[:8]}",
        system_reference=f"LVP{uuid.uuid4().hex[:12].upper()}",
        currency="USD",
        status=status,
        version=1,
        submitted_at=timezone.now(),
        released_at=timezone.now() if status == Status.RELEASED else None,
    )
    assessment = {
        "regime": "KR",
        "date": "2026-04-14",
        "eligible": False,
        "held": False,
        "hold_reason": "",
        "reasons": [
            {"code": "over_duty_limit", "message": "Over the limit.", "blocking": False},
            {"code": "demo_exchange_rate", "message": DEMO_RATE, "blocking": False},
        ],
        "customs_value": money("1721435", "KRW"),
        "duty": money("137715", "KRW"),
        "tax": money("185915", "KRW"),
        "fees": money("20657", "KRW"),
        "total_due": money("344287", "KRW"),
        "exchange_rates": {"USD": "1476"},
        "lines": [],
    }
    data = {
        "currency": "USD",
        "seller": {"name": "Shenzhen Audio Ltd", "country": "CN"},
        "consignee": {"name": "Kim Min-jun", "address": "Seoul", "country": "KR"},
        "lines": [
            {
                "description": "Headphones",
                "hs_code": "851830",
                "quantity": "1",
                "unit": "pcs",
                "value": "1166.30",
                "origin_country": "CN",
            }
        ],
    }
    DeclarationVersion.objects.create(
        declaration=declaration,
        number=1,
        data=data,
        assessment=assessment,
        customs_value=Decimal("1721435"),
        total_due=Decimal("344287"),
        assessment_currency="KRW",
        eligible=False,
        held=False,
    )
    return declaration


# --- Payments pages ----------------------------------------------------------------------


def test_the_payments_page_shows_an_amount_due_as_money(client, organisation, owner):
    declaration = due_declaration(organisation, total="344287", currency="KRW")
    client.force_login(owner)

    page = client.get("/payments/").content.decode()

    assert declaration.system_reference in page
    assert f"344,287{NBSP}KRW" in page


def test_the_payments_page_shows_amounts_with_korean_separators_to_a_korean_reader(
    client, organisation, owner
):
    due_declaration(organisation, total="344287", currency="KRW")
    client.force_login(owner)

    page = client.get("/payments/", headers={"accept-language": "ko"}).content.decode()

    assert 'lang="ko"' in page
    assert f"344,287{NBSP}KRW" in page


def test_the_payments_page_says_the_sandbox_moves_no_money(client, organisation, owner):
    client.force_login(owner)

    page = client.get("/payments/").content.decode()

    assert SANDBOX in page
    assert "usa-alert" in page


def test_with_a_real_provider_the_payments_page_does_not_mention_a_sandbox(
    client, organisation, owner, settings
):
    settings.PAYMENT_PROVIDER = "stripe"
    client.force_login(owner)

    assert SANDBOX not in client.get("/payments/").content.decode()


def test_a_payment_page_shows_its_amount_and_the_sandbox_label(client, organisation, owner):
    declaration = due_declaration(organisation, total="344287", currency="KRW")
    payment, _url = payments.payment_start(declaration=declaration, actor=Actor(user=owner))
    client.force_login(owner)

    page = client.get(f"/payments/{payment.pk}/").content.decode()

    assert f"344,287{NBSP}KRW" in page
    assert SANDBOX in page


def test_the_sandbox_checkout_page_shows_the_amount_and_says_no_money_moves(client):
    # The token the portal signs for the gateway; the amount as the database keeps it.
    token = signing.dumps(
        {"reference": "pay_1", "amount": "59.0000", "currency": "USD", "return_url": "/"},
        salt=SandboxProvider.TOKEN_SALT,
    )

    page = client.get("/sandbox-gateway/checkout/", {"token": token}).content.decode()

    assert f"59.00{NBSP}USD" in page
    assert SANDBOX in page


# --- The payment receipt -----------------------------------------------------------------


def test_the_receipt_says_the_sandbox_moved_no_money_and_shows_money(client, organisation, owner):
    declaration = assessed(organisation, status=Status.AWAITING_PAYMENT)
    payment, _url = payments.payment_start(declaration=declaration, actor=Actor(user=owner))
    post_callback(client, *callback(payment.reference, payment.amount, payment.currency))
    payment = Payment.objects.get(pk=payment.pk)

    template, context, language = documents.payment_receipt(payment)

    assert context["payment_sandbox"] is True
    with translation.override(language):
        html = render_to_string(template, context)
    assert SANDBOX in html
    assert f"137,715{NBSP}KRW" in html  # duty
    assert f"344,287{NBSP}KRW" in html  # paid
    assert DEMO_RATE in html
    assert "None" not in html


def test_a_receipt_of_a_payment_through_a_real_provider_has_no_sandbox_label(
    client, organisation, owner
):
    declaration = due_declaration(organisation, total="344287", currency="KRW")
    payment, _url = payments.payment_start(declaration=declaration, actor=Actor(user=owner))
    Payment.objects.filter(pk=payment.pk).update(provider="stripe")

    template, context, _language = documents.payment_receipt(Payment.objects.get(pk=payment.pk))

    assert context["payment_sandbox"] is False
    assert SANDBOX not in render_to_string(template, context)


# --- Declarations ------------------------------------------------------------------------


HOLD_REASON = "No exchange rate from GBP to KRW on 2026-04-14 or the 7 days before."


@pytest.fixture
def held(organisation):
    """Submitted when no exchange rate was known: held, its amounts None."""
    declaration = assessed(organisation, status=Status.SUBMITTED)
    version = declaration.versions.get()
    nothing = {"amount": None, "currency": "KRW"}
    version.assessment.update(
        held=True,
        hold_reason=HOLD_REASON,
        reasons=[{"code": "no_exchange_rate", "message": HOLD_REASON, "blocking": True}],
        customs_value=nothing,
        duty=nothing,
        tax=nothing,
        fees=nothing,
        total_due=nothing,
    )
    version.held = True
    version.save()
    return declaration


def test_a_held_declarations_page_says_it_is_not_assessed_and_why(client, held, owner):
    client.force_login(owner)

    page = client.get(f"/declarations/{held.pk}/").content.decode()

    assert "None" not in page
    assert "Not assessed yet." in page
    assert HOLD_REASON in page


def test_a_held_declarations_case_page_says_it_is_not_assessed_and_why(client, held):
    officer = staff_user(Role.OFFICER)
    client.force_login(officer)
    client.post("/account/two-factor/", {"token": current_totp(officer)})

    page = client.get(f"/staff/review/{held.pk}/").content.decode()

    # The page says "None." of questions and decisions; the assessment never says "None".
    assessment = page.split("<h2>Assessment</h2>", 1)[1].split("<h2>", 1)[0]
    assert "None" not in assessment
    assert "Not assessed yet." in assessment
    assert HOLD_REASON in assessment


def test_a_declarations_page_shows_its_assessment_as_money_with_the_rate_note(
    client, organisation, owner
):
    declaration = assessed(organisation, status=Status.UNDER_REVIEW)
    client.force_login(owner)

    page = client.get(f"/declarations/{declaration.pk}/").content.decode()

    assert f"1,721,435{NBSP}KRW" in page
    assert f"20,657{NBSP}KRW" in page
    assert f"344,287{NBSP}KRW" in page
    assert DEMO_RATE in page


def test_the_case_page_shows_the_assessment_as_money_with_the_rate_note(client, organisation):
    declaration = assessed(organisation, status=Status.UNDER_REVIEW)
    officer = staff_user(Role.OFFICER)
    client.force_login(officer)
    client.post("/account/two-factor/", {"token": current_totp(officer)})

    page = client.get(f"/staff/review/{declaration.pk}/").content.decode()

    assert f"1,721,435{NBSP}KRW" in page
    assert f"344,287{NBSP}KRW" in page
    assert DEMO_RATE in page


# --- The release notice ------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_release_notice_shows_its_amounts_as_money(organisation, monkeypatch, language):
    organisation.owner.language = language
    organisation.owner.save(update_fields=["language"])
    declaration = assessed(organisation, status=Status.RELEASED)
    ReleaseNotice.objects.create(declaration=declaration, code=uuid.uuid4().hex[:14].upper())
    pages: list[tuple[str, str]] = []

    def html_instead_of_pdf(template: str, context: dict[str, Any], *, language: str) -> bytes:
        with translation.override(language):
            pages.append((language, render_to_string(template, context)))
        return b"%PDF-"

    monkeypatch.setattr(release_notices, "render_pdf", html_instead_of_pdf)

    release_notices.render(declaration.pk)

    [(rendered_in, html)] = pages
    assert rendered_in == language
    assert f'lang="{language}"' in html
    assert f"1,166.30{NBSP}USD" in html  # the line's value
    assert f"1,721,435{NBSP}KRW" in html
    assert f"137,715{NBSP}KRW" in html
    assert f"344,287{NBSP}KRW" in html
    assert DEMO_RATE in html
    assert "None" not in html


# --- Mail --------------------------------------------------------------------------------


def test_a_korean_reader_is_told_of_a_payment_in_money(client, organisation, owner):
    owner.language = "ko"
    owner.save(update_fields=["language"])
    declaration = due_declaration(organisation, total="344287", currency="KRW")
    payment, _url = payments.payment_start(declaration=declaration, actor=Actor(user=owner))

    post_callback(client, *callback(payment.reference, payment.amount, payment.currency))

    told = Notification.objects.get(recipient=owner, event="payment_received")
    assert f"344,287{NBSP}KRW" in told.body
    assert "344,287 KRW" in told.subject  # a subject's spaces are folded into plain ones
    assert "344287.0000" not in told.body


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_payment_received_mail_shows_the_amount_as_money(language):
    context = {"reference": "PAY-1", "amount": "1234.5000", "currency": "USD"}

    subject, text, html = render_message("notifications/payment_received", context, language)

    assert f"1,234.50{NBSP}USD" in text
    assert f"1,234.50{NBSP}USD" in html
    assert "1,234.50 USD" in subject
    assert "1234.5000" not in text + html + subject


@pytest.mark.parametrize(
    # Not "context": pytest-playwright has a fixture of that name, which would make this a
    # browser test (and move it among the transactional ones).
    ("event", "values", "shown"),
    [
        (
            "refund_update",
            {"number": 7, "status": "Paid", "amount": "10000.0000", "currency": "KRW", "note": ""},
            "10,000 KRW",
        ),
        (
            "statement_issued",
            {"period": "2026-04", "total": "59.0000", "currency": "USD", "due_on": "2026-05-15"},
            "59.00 USD",
        ),
        (
            "deferral_suspended",
            {"period": "2026-04", "total": "1.5000", "currency": "BHD", "due_on": "2026-05-15"},
            "1.500 BHD",
        ),
    ],
)
def test_every_mail_with_an_amount_shows_it_as_money(event, values, shown):
    for language in ("en", "ko"):
        _subject, text, html = render_message(f"notifications/{event}", values, language)
        assert shown.replace(" ", NBSP) in text
        assert shown.replace(" ", NBSP) in html
