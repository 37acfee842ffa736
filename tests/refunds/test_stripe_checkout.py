"""Stripe Checkout, against a local server that speaks Stripe's API and signs webhooks as
Stripe does: the SDK, the HTTP, the signatures and the portal's webhook are all real."""

import json
import time
from decimal import Decimal

import pytest
import stripe
from django.urls import reverse

from clearance.errors import ServiceError
from declarations.models import Status
from refunds import payments, services
from refunds.models import LedgerEntry, Payment, ProviderEvent, Refund
from refunds.providers import ProviderUnavailable, get_provider
from refunds.stripe_checkout import AmountNotRepresentable, from_stripe_amount, to_stripe_amount
from tests.conftest import free_port
from tests.factories import staff_user
from tests.refunds.helpers import due_declaration
from tests.refunds.stripe_server import StripeServer

SECRET_KEY = "sk_test_portal_0123456789"
WEBHOOK_SECRET = "whsec_portal_0123456789"
SITE_URL = "https://portal.example.test"


@pytest.fixture
def stripe_api(settings, payment_settings):
    with StripeServer(SECRET_KEY, WEBHOOK_SECRET) as server:
        settings.PAYMENT_PROVIDER = "stripe"
        settings.STRIPE_SECRET_KEY = SECRET_KEY
        settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
        settings.STRIPE_API_BASE = server.url
        settings.SITE_URL = SITE_URL
        yield server


def start(organisation, actor, *, total="30000", currency="KRW"):
    declaration = due_declaration(organisation, total=total, currency=currency)
    payment, url = payments.payment_start(declaration=declaration, actor=actor)
    payment.refresh_from_db()
    return payment, url


def effects(payment):
    payment.refresh_from_db()
    declaration = payment.declaration
    declaration.refresh_from_db()
    ledger = LedgerEntry.objects.filter(payment=payment, kind="payment").count()
    return payment.status, declaration.status, ledger


def webhook_url(live_server):
    return live_server.url + reverse("payment_webhook")


def signed(server, event, **signing):
    """A webhook as the portal's callback service receives it, without HTTP."""
    body = json.dumps(event, indent=2).encode()
    return {"headers": {"Stripe-Signature": server.signature(body, **signing)}, "raw_body": body}


# --- The currency rule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "units"),
    [
        ("30000", "KRW", 30000),
        ("30000.0000", "KRW", 30000),
        ("1500", "JPY", 1500),
        ("250000", "VND", 250000),
        ("123.45", "USD", 12345),
        ("0.50", "EUR", 50),
        ("5.12", "KWD", 5120),
        ("5", "ISK", 500),
    ],
)
def test_amounts_go_to_stripe_in_its_smallest_unit_and_come_back_equal(amount, currency, units):
    assert to_stripe_amount(Decimal(amount), currency) == units
    assert from_stripe_amount(units, currency.lower()) == Decimal(amount)


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        ("1500.5", "JPY"),
        ("100.50", "MGA"),
        ("5.125", "KWD"),
        ("0.001", "USD"),
        ("5.5", "ISK"),
        ("0", "USD"),
    ],
)
def test_an_amount_stripe_cannot_take_exactly_is_refused_not_rounded(amount, currency):
    with pytest.raises(AmountNotRepresentable):
        to_stripe_amount(Decimal(amount), currency)


# --- Starting a payment --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_krw_payment_opens_a_session_in_whole_won_and_sends_the_payer_there(
    client, stripe_api, organisation, owner
):
    declaration = due_declaration(organisation, total="30000", currency="KRW")
    client.force_login(owner)

    response = client.post(reverse("pay_declaration", args=[declaration.pk]))

    payment = Payment.objects.get(declaration=declaration)
    [sent] = stripe_api.calls("POST", "/v1/checkout/sessions")
    assert sent.params["mode"] == "payment"
    [item] = sent.params["line_items"]
    assert item["quantity"] == "1"
    assert item["price_data"]["currency"] == "krw"
    assert item["price_data"]["unit_amount"] == "30000"
    assert declaration.system_reference in item["price_data"]["product_data"]["name"]
    assert sent.params["client_reference_id"] == payment.reference
    assert sent.params["metadata"] == {"reference": payment.reference}
    assert sent.params["payment_intent_data"] == {"metadata": {"reference": payment.reference}}
    assert sent.params["success_url"] == f"{SITE_URL}/payments/{payment.pk}/"
    assert sent.params["cancel_url"] == f"{SITE_URL}/payments/{payment.pk}/"
    assert sent.headers["idempotency-key"] == f"checkout-{payment.reference}"
    session = stripe_api.session(payment.provider_reference)
    assert session["amount_total"] == 30000
    assert response.status_code == 302
    assert response["Location"] == session["url"]


@pytest.mark.django_db
def test_a_usd_payment_opens_a_session_in_cents(stripe_api, organisation, actor):
    payment, url = start(organisation, actor, total="123.45", currency="USD")

    [sent] = stripe_api.calls("POST", "/v1/checkout/sessions")
    assert sent.params["line_items"][0]["price_data"]["unit_amount"] == "12345"
    assert sent.params["line_items"][0]["price_data"]["currency"] == "usd"
    assert sent.params["client_reference_id"] == payment.reference
    assert url == stripe_api.session(payment.provider_reference)["url"]


@pytest.mark.django_db
def test_starting_the_same_payment_again_reuses_its_session(stripe_api, organisation, actor):
    payment, url = start(organisation, actor)

    again, url_again = payments.payment_start(declaration=payment.declaration, actor=actor)

    assert (again.pk, url_again) == (payment.pk, url)
    keys = {r.headers["idempotency-key"] for r in stripe_api.calls("POST", "/v1/checkout/sessions")}
    assert keys == {f"checkout-{payment.reference}"}
    assert len(stripe_api.sessions) == 1


@pytest.mark.django_db
def test_an_amount_stripe_cannot_take_is_refused_before_anything_is_sent(
    stripe_api, organisation, actor
):
    declaration = due_declaration(organisation, total="5.125", currency="KWD")

    with pytest.raises(ServiceError) as refused:
        payments.payment_start(declaration=declaration, actor=actor)

    assert refused.value.code == "amount_not_representable"
    assert "KWD" in refused.value.message
    assert stripe_api.requests == []


@pytest.mark.django_db
def test_a_wrong_api_key_is_refused_by_stripe_and_the_caller_sees_it(
    settings, stripe_api, organisation, actor
):
    settings.STRIPE_SECRET_KEY = "sk_test_not_the_key"

    with pytest.raises(ProviderUnavailable) as refused:
        start(organisation, actor)

    assert isinstance(refused.value.__cause__, stripe.AuthenticationError)
    assert "could not be reached" in refused.value.message
    assert stripe_api.sessions == {}


@pytest.mark.django_db
def test_network_errors_reach_the_caller_in_words(settings, stripe_api, organisation, actor):
    payment, _url = start(organisation, actor)
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"
    provider = get_provider()

    with pytest.raises(ProviderUnavailable) as unreachable:
        provider.payment_status(payment)
    assert isinstance(unreachable.value.__cause__, stripe.APIConnectionError)
    with pytest.raises(ProviderUnavailable) as unreachable:
        provider.start_payment(payment, return_url="/payments/")
    assert isinstance(unreachable.value.__cause__, stripe.APIConnectionError)


# --- Webhooks, on the portal's live webhook URL ------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_signed_webhook_settles_the_payment_and_releases_the_declaration(
    live_server, stripe_api, organisation, actor
):
    payment, _url = start(organisation, actor)
    session = stripe_api.pay(payment.provider_reference)

    answer = stripe_api.deliver(
        webhook_url(live_server), stripe_api.event("checkout.session.completed", session)
    )

    assert answer == (200, "settled")
    assert effects(payment) == ("settled", Status.RELEASED, 1)
    assert LedgerEntry.objects.filter(organisation=organisation).balance() == {"KRW": Decimal(0)}


@pytest.mark.django_db(transaction=True)
def test_a_webhook_with_a_bad_signature_is_refused_and_changes_nothing(
    live_server, stripe_api, organisation, actor
):
    payment, _url = start(organisation, actor)
    session = stripe_api.pay(payment.provider_reference)

    status, _text = stripe_api.deliver(
        webhook_url(live_server),
        stripe_api.event("checkout.session.completed", session),
        secret="whsec_someone_else",
    )

    assert status == 400
    assert effects(payment) == ("pending", Status.AWAITING_PAYMENT, 0)
    assert not ProviderEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_replayed_webhook_is_a_duplicate_and_settles_once(
    live_server, stripe_api, organisation, actor
):
    payment, _url = start(organisation, actor)
    event = stripe_api.event(
        "checkout.session.completed", stripe_api.pay(payment.provider_reference)
    )

    first = stripe_api.deliver(webhook_url(live_server), event)
    again = stripe_api.deliver(webhook_url(live_server), event)

    assert (first, again) == ((200, "settled"), (200, "duplicate"))
    assert effects(payment) == ("settled", Status.RELEASED, 1)
    assert ProviderEvent.objects.filter(event_id=event["id"]).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_webhook_signed_longer_ago_than_the_tolerance_is_refused(
    live_server, stripe_api, organisation, actor
):
    payment, _url = start(organisation, actor)
    session = stripe_api.pay(payment.provider_reference)

    status, _text = stripe_api.deliver(
        webhook_url(live_server),
        stripe_api.event("checkout.session.completed", session),
        timestamp=int(time.time()) - 301,
    )

    assert status == 400
    assert effects(payment) == ("pending", Status.AWAITING_PAYMENT, 0)
    assert not ProviderEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_expired_session_fails_the_payment_and_the_payer_can_start_again(
    live_server, stripe_api, organisation, actor
):
    payment, first_url = start(organisation, actor)
    session = stripe_api.expire(payment.provider_reference)

    answer = stripe_api.deliver(
        webhook_url(live_server), stripe_api.event("checkout.session.expired", session)
    )
    again, url = payments.payment_start(declaration=payment.declaration, actor=actor)

    assert answer == (200, "failed")
    assert effects(payment) == ("failed", Status.AWAITING_PAYMENT, 0)
    assert again.pk != payment.pk
    assert url != first_url
    assert len(stripe_api.sessions) == 2


# --- Webhooks, through the callback service ------------------------------------------------


@pytest.mark.django_db
def test_a_usd_webhook_reads_cents_back_into_dollars_and_settles(stripe_api, organisation, actor):
    payment, _url = start(organisation, actor, total="123.45", currency="USD")
    session = stripe_api.pay(payment.provider_reference)

    outcome = payments.callback_receive(
        **signed(stripe_api, stripe_api.event("checkout.session.completed", session))
    )

    assert outcome == "settled"
    assert effects(payment) == ("settled", Status.RELEASED, 1)


@pytest.mark.django_db
def test_a_session_paid_for_another_amount_does_not_settle(stripe_api, organisation, actor):
    payment, _url = start(organisation, actor)
    session = {**stripe_api.pay(payment.provider_reference), "amount_total": 3000}

    outcome = payments.callback_receive(
        **signed(stripe_api, stripe_api.event("checkout.session.completed", session))
    )

    assert outcome == "amount_mismatch"
    assert effects(payment) == ("pending", Status.AWAITING_PAYMENT, 0)


@pytest.mark.django_db
def test_a_bank_debit_under_way_settles_only_when_it_succeeds(stripe_api, organisation, actor):
    payment, _url = start(organisation, actor)
    paid = stripe_api.pay(payment.provider_reference)
    under_way = {**paid, "payment_status": "unpaid"}

    completed = payments.callback_receive(
        **signed(stripe_api, stripe_api.event("checkout.session.completed", under_way))
    )
    assert completed == "ignored"
    assert effects(payment) == ("pending", Status.AWAITING_PAYMENT, 0)

    succeeded = payments.callback_receive(
        **signed(stripe_api, stripe_api.event("checkout.session.async_payment_succeeded", paid))
    )
    assert succeeded == "settled"
    assert effects(payment) == ("settled", Status.RELEASED, 1)


# --- Asking Stripe when a webhook was lost -----------------------------------------------


@pytest.mark.django_db
def test_payment_status_is_none_while_the_session_is_open(stripe_api, organisation, actor):
    payment, _url = start(organisation, actor)

    assert get_provider().payment_status(payment) is None
    assert stripe_api.calls("GET", f"/v1/checkout/sessions/{payment.provider_reference}")


@pytest.mark.django_db
def test_payment_status_finds_a_paid_session_whose_webhook_was_lost(
    stripe_api, organisation, actor
):
    payment, _url = start(organisation, actor)
    stripe_api.pay(payment.provider_reference)
    provider = get_provider()

    event = provider.payment_status(payment)
    again = provider.payment_status(payment)

    assert event is not None
    assert event.kind == "payment.succeeded"
    assert event.event_id == f"status:{payment.provider_reference}:succeeded"
    assert event.payment_reference == payment.reference
    assert (event.amount, event.currency) == (Decimal(30000), "KRW")
    assert again is not None
    assert again.event_id == event.event_id


@pytest.mark.django_db
def test_payment_status_reports_an_expired_session_as_failed(stripe_api, organisation, actor):
    payment, _url = start(organisation, actor)
    stripe_api.expire(payment.provider_reference)

    event = get_provider().payment_status(payment)

    assert event is not None
    assert (event.kind, event.event_id) == (
        "payment.failed",
        f"status:{payment.provider_reference}:failed",
    )


# --- Refunds -------------------------------------------------------------------------------


@pytest.fixture
def approved_refund(stripe_api, organisation, actor):
    """12,000 KRW to give back of a 30,000 KRW declaration paid by card, approved."""
    payment, _url = start(organisation, actor)
    session = stripe_api.pay(payment.provider_reference)
    payments.callback_receive(
        **signed(stripe_api, stripe_api.event("checkout.session.completed", session))
    )
    payment.declaration.refresh_from_db()
    refund = services.refund_request(
        declaration=payment.declaration,
        reason=Refund.Reason.OVERPAYMENT,
        amount=Decimal("12000"),
        return_tracking_number="",
        explanation="Reassessed at a lower rate.",
        evidence=[],
        actor=actor,
    )
    services.refund_approve(refund_id=refund.pk, by=staff_user("officer"))
    refund.refresh_from_db()
    assert refund.status == "approved"
    return refund, stripe_api.session(payment.provider_reference)["payment_intent"]


@pytest.mark.django_db
def test_pay_out_sends_one_refund_keyed_by_the_refund_and_a_second_call_returns_it(
    stripe_api, approved_refund
):
    refund, intent = approved_refund
    provider = get_provider()

    first = provider.pay_out(refund)
    again = provider.pay_out(refund)

    assert first == again
    assert list(stripe_api.refunds) == [first]
    [sent] = stripe_api.calls("POST", "/v1/refunds")
    assert sent.headers["idempotency-key"] == f"refund-{refund.pk}"
    assert sent.params["payment_intent"] == intent
    assert sent.params["amount"] == "12000"
    assert sent.params["metadata"]["refund"] == str(refund.pk)


@pytest.mark.django_db
def test_a_payout_whose_answer_was_lost_is_retried_with_its_key_and_made_once(
    stripe_api, approved_refund
):
    refund, _intent = approved_refund
    stripe_api.lose_next_answer("POST", "/v1/refunds")

    reference = get_provider().pay_out(refund)

    assert list(stripe_api.refunds) == [reference]
    keys = [r.headers["idempotency-key"] for r in stripe_api.calls("POST", "/v1/refunds")]
    assert keys == [f"refund-{refund.pk}", f"refund-{refund.pk}"]


@pytest.mark.django_db
def test_a_payout_retried_after_stripe_forgot_the_key_is_not_made_twice(
    stripe_api, approved_refund
):
    refund, _intent = approved_refund
    provider = get_provider()
    first = provider.pay_out(refund)
    stripe_api.forget_idempotency_keys()

    again = provider.pay_out(refund)

    assert again == first
    assert len(stripe_api.refunds) == 1


@pytest.mark.django_db
def test_the_refund_service_pays_out_through_stripe_once(stripe_api, approved_refund):
    refund, _intent = approved_refund

    assert services.refund_pay_out(refund_id=refund.pk)
    assert not services.refund_pay_out(refund_id=refund.pk)

    refund.refresh_from_db()
    [made] = stripe_api.refunds.values()
    assert (refund.status, refund.payout_reference) == ("paid", made["id"])
    assert made["amount"] == 12000
    kinds = LedgerEntry.objects.filter(refund=refund).values_list("kind", "amount")
    assert sorted(kinds) == [("adjustment", Decimal("-12000")), ("refund", Decimal("12000"))]


@pytest.mark.django_db
def test_the_payer_back_from_stripe_sees_it_paid_when_the_webhook_was_lost(
    client, stripe_api, organisation, owner, actor
):
    payment, _url = start(organisation, actor)
    stripe_api.pay(payment.provider_reference)  # paid; the webhook never arrives
    client.force_login(owner)

    page = client.get(reverse("payment_detail", args=[payment.pk]))

    assert page.status_code == 200
    assert effects(payment) == ("settled", Status.RELEASED, 1)


@pytest.mark.django_db
def test_the_payer_back_while_stripe_is_unreachable_sees_it_pending(
    client, stripe_api, organisation, owner, actor, settings
):
    payment, _url = start(organisation, actor)
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"
    client.force_login(owner)

    page = client.get(reverse("payment_detail", args=[payment.pk]))

    assert page.status_code == 200
    assert effects(payment) == ("pending", Status.AWAITING_PAYMENT, 0)
