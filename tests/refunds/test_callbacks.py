"""The portal settles a payment only on a verified, fresh, first delivery of the callback."""

import time
from decimal import Decimal

import pytest

from declarations.models import Status
from refunds import payments
from refunds.models import LedgerEntry, Payment, ProviderEvent
from tests.refunds.helpers import callback, due_declaration, post_callback

pytestmark = pytest.mark.django_db


@pytest.fixture
def payment(organisation, actor):
    declaration = due_declaration(organisation, total="30000")
    payment, _url = payments.payment_start(declaration=declaration, actor=actor)
    return payment


def settled_effects(payment):
    payment.refresh_from_db()
    declaration = payment.declaration
    declaration.refresh_from_db()
    payments = LedgerEntry.objects.filter(payment=payment, kind="payment").count()
    return payment.status, declaration.status, payments


def test_a_signed_success_callback_settles_the_payment_and_releases_the_declaration(
    client, payment
):
    body, headers = callback(payment.reference, "30000", "KRW")

    response = post_callback(client, body, headers)

    assert response.status_code == 200
    assert response.content == b"settled"
    assert settled_effects(payment) == ("settled", Status.RELEASED, 1)
    assert payment.declaration.status_changes.filter(to_status="released").count() == 1
    assert LedgerEntry.objects.filter(organisation=payment.organisation).balance() == {
        "KRW": Decimal(0)
    }


def test_a_callback_with_a_bad_signature_is_refused_with_no_effect(client, payment):
    body, headers = callback(payment.reference, "30000", "KRW", secret="not-the-secret")

    response = post_callback(client, body, headers)

    assert response.status_code == 400
    assert settled_effects(payment) == ("pending", Status.AWAITING_PAYMENT, 0)
    assert not ProviderEvent.objects.exists()


def test_a_callback_whose_body_was_changed_after_signing_is_refused(client, payment):
    body, headers = callback(payment.reference, "1", "KRW")
    tampered = body.replace(b'"1"', b'"30000"')

    assert post_callback(client, tampered, headers).status_code == 400
    assert settled_effects(payment) == ("pending", Status.AWAITING_PAYMENT, 0)


def test_a_stale_callback_is_refused_with_no_effect(client, payment):
    body, headers = callback(payment.reference, "30000", "KRW", timestamp=int(time.time()) - 301)

    response = post_callback(client, body, headers)

    assert response.status_code == 400
    assert settled_effects(payment) == ("pending", Status.AWAITING_PAYMENT, 0)


def test_a_replayed_callback_settles_only_once(client, payment):
    body, headers = callback(payment.reference, "30000", "KRW", event_id="evt_same")

    first = post_callback(client, body, headers)
    again = post_callback(client, body, headers)

    assert (first.content, again.content) == (b"settled", b"duplicate")
    assert settled_effects(payment) == ("settled", Status.RELEASED, 1)
    assert ProviderEvent.objects.count() == 1


def test_a_failure_arriving_after_the_success_is_ignored(client, payment):
    post_callback(client, *callback(payment.reference, "30000", "KRW"))

    late = post_callback(
        client, *callback(payment.reference, "30000", "KRW", kind="payment.failed")
    )

    assert late.content == b"ignored"
    assert settled_effects(payment) == ("settled", Status.RELEASED, 1)


def test_a_callback_for_another_amount_does_not_settle(client, payment):
    response = post_callback(client, *callback(payment.reference, "3000", "KRW"))

    assert response.content == b"amount_mismatch"
    assert settled_effects(payment) == ("pending", Status.AWAITING_PAYMENT, 0)


def test_coming_back_from_the_payment_page_does_not_settle_the_payment(client, payment, owner):
    client.force_login(owner)

    response = client.get(f"/payments/{payment.pk}/")

    assert response.status_code == 200
    assert settled_effects(payment) == ("pending", Status.AWAITING_PAYMENT, 0)


def test_a_failed_payment_can_be_tried_again(client, payment, actor):
    post_callback(client, *callback(payment.reference, "30000", "KRW", kind="payment.failed"))

    again, _url = payments.payment_start(declaration=payment.declaration, actor=actor)

    assert Payment.objects.get(pk=payment.pk).status == "failed"
    assert again.pk != payment.pk
    assert again.status == "pending"


def test_starting_a_payment_twice_reuses_the_open_one(payment, actor):
    again, url = payments.payment_start(declaration=payment.declaration, actor=actor)

    assert again.pk == payment.pk
    assert url.startswith("/sandbox-gateway/checkout/?token=")


def test_a_success_arriving_after_a_failure_still_settles_the_payment(client, payment):
    post_callback(client, *callback(payment.reference, "30000", "KRW", kind="payment.failed"))

    late = post_callback(client, *callback(payment.reference, "30000", "KRW"))

    assert late.content == b"settled"
    assert settled_effects(payment) == ("settled", Status.RELEASED, 1)


def test_a_late_success_does_not_settle_beside_a_newer_payment(client, payment, actor):
    post_callback(client, *callback(payment.reference, "30000", "KRW", kind="payment.failed"))
    newer, _url = payments.payment_start(declaration=payment.declaration, actor=actor)

    late = post_callback(client, *callback(payment.reference, "30000", "KRW"))

    assert late.content == b"late_success"
    assert settled_effects(payment) == ("failed", Status.AWAITING_PAYMENT, 0)
    assert Payment.objects.get(pk=newer.pk).status == "pending"
