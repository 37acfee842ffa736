"""Receipts: rendered by the worker, listed on the payments page, saying what the border owed."""

import pytest
from django.template.loader import render_to_string

from refunds import documents, payments, tasks
from refunds.models import Payment
from tests.refunds.helpers import callback, due_declaration, post_callback

pytestmark = pytest.mark.django_db


def pay(client, organisation, actor, **kwargs):
    declaration = due_declaration(organisation, **kwargs)
    payment, _url = payments.payment_start(declaration=declaration, actor=actor)
    post_callback(client, *callback(payment.reference, payment.amount, payment.currency))
    return Payment.objects.get(pk=payment.pk)


def test_a_receipt_says_the_vendor_collected_the_tax_at_sale(client, organisation, actor):
    payment = pay(client, organisation, actor, total="12000", tax_collected=True)

    template, context, _language = documents.payment_receipt(payment)
    html = render_to_string(template, context)

    assert "Tax collected at sale" in html
    assert "no tax was due at the border" in html


def test_a_receipt_without_collection_at_sale_does_not_say_so(client, organisation, actor):
    payment = pay(client, organisation, actor, total="12000")

    template, context, _language = documents.payment_receipt(payment)

    assert "Tax collected at sale" not in render_to_string(template, context)


def test_the_payments_page_lists_the_receipt_once_rendered(client, organisation, actor, owner):
    payment = pay(client, organisation, actor)
    client.force_login(owner)
    assert b"Being prepared" in client.get("/payments/").content

    tasks.render_payment_receipt(payment.pk)

    page = client.get("/payments/").content.decode()
    assert f"/payments/{payment.pk}/receipt.pdf" in page
    response = client.get(f"/payments/{payment.pk}/receipt.pdf")
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


def test_paying_in_the_browser_sends_the_seller_to_the_provider_page(client, organisation, owner):
    declaration = due_declaration(organisation)
    client.force_login(owner)

    response = client.post(f"/payments/declarations/{declaration.pk}/pay/")

    assert response.status_code == 302
    assert response["Location"].startswith("/sandbox-gateway/checkout/?token=")
    assert client.get(response["Location"]).status_code == 200
