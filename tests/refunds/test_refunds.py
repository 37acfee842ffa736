"""Refunds: what may be asked, who decides, and the one payout."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from clearance.errors import ServiceError
from clearance.models import Notification
from refunds import amounts, payments, services, tasks
from refunds.models import LedgerEntry, Refund, SandboxPayout
from tests.factories import OrganisationFactory, staff_user
from tests.refunds.helpers import callback, due_declaration, post_callback

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def photo(name="parcel.png"):
    return SimpleUploadedFile(name, PNG, content_type="image/png")


@pytest.fixture
def paid(client, organisation, actor):
    """A released declaration whose 30,000 KRW were paid online."""
    declaration = due_declaration(organisation, total="30000")
    payment, _url = payments.payment_start(declaration=declaration, actor=actor)
    post_callback(client, *callback(payment.reference, "30000", "KRW"))
    declaration.refresh_from_db()
    return declaration


def ask(declaration, actor, **overrides):
    values = {
        "reason": Refund.Reason.RETURNED,
        "amount": Decimal("12000"),
        "return_tracking_number": "RR123456789KR",
        "evidence": [photo()],
    }
    values.update(overrides)
    return services.refund_request(declaration=declaration, actor=actor, **values)


def test_returned_goods_with_evidence_under_the_limit_are_approved_and_paid_once(paid, actor):
    refund = ask(paid, actor)
    assert refund.status == "approved"
    assert refund.auto_approved

    assert services.refund_pay_out(refund_id=refund.pk)
    assert not services.refund_pay_out(refund_id=refund.pk)

    refund.refresh_from_db()
    assert refund.status == "paid"
    assert SandboxPayout.objects.filter(refund_id=refund.pk).count() == 1
    assert refund.payout_reference == SandboxPayout.objects.get().reference
    kinds = LedgerEntry.objects.filter(refund=refund).values_list("kind", "amount")
    assert sorted(kinds) == [("adjustment", Decimal("-12000")), ("refund", Decimal("12000"))]


def test_the_seller_is_told_of_each_step(paid, actor, owner):
    refund = ask(paid, actor, reason=Refund.Reason.OVERPAYMENT, evidence=[])
    officer = staff_user("officer")
    services.refund_approve(refund_id=refund.pk, by=officer)
    services.refund_pay_out(refund_id=refund.pk)

    subjects = list(
        Notification.objects.filter(recipient=owner, event="refund_update")
        .order_by("id")
        .values_list("subject", flat=True)
    )
    assert subjects == [
        f"Refund {refund.pk}: Under review",
        f"Refund {refund.pk}: Approved",
        f"Refund {refund.pk}: Paid",
    ]


def test_an_overpayment_goes_to_an_officer_who_approves_it(paid, actor):
    refund = ask(paid, actor, reason=Refund.Reason.OVERPAYMENT, evidence=[])
    assert refund.status == "under_review"

    officer = staff_user("officer")
    services.refund_approve(refund_id=refund.pk, by=officer, note="Reassessed lower.")

    refund.refresh_from_db()
    assert (refund.status, refund.approved_by) == ("approved", officer)
    assert [h.history_user for h in refund.history.order_by("history_date")][-1] == officer


def test_above_the_threshold_a_supervisor_other_than_the_officer_approves_too(
    paid, actor, settings
):
    settings.REFUND_SUPERVISOR_THRESHOLD = 10000
    refund = ask(paid, actor, reason=Refund.Reason.OVERPAYMENT, evidence=[])
    supervisor = staff_user("supervisor")
    services.refund_approve(refund_id=refund.pk, by=supervisor)
    refund.refresh_from_db()
    assert refund.status == "awaiting_supervisor"

    with pytest.raises(ServiceError, match="Another person"):
        services.refund_approve(refund_id=refund.pk, by=supervisor)
    with pytest.raises(ServiceError, match="supervisor"):
        services.refund_approve(refund_id=refund.pk, by=staff_user("officer"))
    other = staff_user("supervisor")
    services.refund_approve(refund_id=refund.pk, by=other)

    refund.refresh_from_db()
    assert (refund.status, refund.approved_by, refund.supervisor) == (
        "approved",
        supervisor,
        other,
    )


def test_a_seller_cannot_approve_a_refund(paid, actor, owner):
    refund = ask(paid, actor, reason=Refund.Reason.OVERPAYMENT, evidence=[])

    with pytest.raises(ServiceError):
        services.refund_approve(refund_id=refund.pk, by=owner)
    assert Refund.objects.get(pk=refund.pk).status == "under_review"


def test_a_rejection_needs_a_reason_and_frees_the_amount(paid, actor):
    refund = ask(paid, actor, reason=Refund.Reason.DUPLICATE, evidence=[])
    officer = staff_user("officer")
    with pytest.raises(ServiceError):
        services.refund_reject(refund_id=refund.pk, by=officer, note=" ")

    services.refund_reject(refund_id=refund.pk, by=officer, note="Only one payment was made.")

    assert Refund.objects.get(pk=refund.pk).status == "rejected"
    assert amounts.amount_refundable(paid) == Decimal("30000")


def test_no_refund_exceeds_what_was_paid_less_earlier_refunds(paid, actor):
    ask(paid, actor, amount=Decimal("20000"))

    with pytest.raises(ServiceError) as refused:
        ask(paid, actor, amount=Decimal("10001"))
    assert refused.value.code == "over_refundable"
    assert ask(paid, actor, amount=Decimal("10000")).status == "approved"
    assert amounts.amount_refundable(paid) == 0


def test_returned_goods_need_a_tracking_number_and_evidence(paid, actor):
    with pytest.raises(ServiceError) as no_tracking:
        ask(paid, actor, return_tracking_number="")
    with pytest.raises(ServiceError) as no_evidence:
        ask(paid, actor, evidence=[])
    assert (no_tracking.value.field, no_evidence.value.field) == (
        "return_tracking_number",
        "evidence",
    )
    assert not Refund.objects.exists()


def test_returned_goods_are_refunded_only_within_the_period(paid, actor):
    later = paid.released_at + datetime.timedelta(days=184)
    with time_machine.travel(later, tick=False), pytest.raises(ServiceError) as late:
        ask(paid, actor)
    assert late.value.code == "too_late"


def test_evidence_must_be_a_photo_or_a_document(paid, actor):
    bad = SimpleUploadedFile("x.png", b"MZ not an image", content_type="image/png")
    with pytest.raises(ServiceError) as refused:
        ask(paid, actor, evidence=[bad])
    assert refused.value.field == "evidence"


def test_a_declaration_not_yet_paid_cannot_be_refunded(organisation, actor):
    declaration = due_declaration(organisation)
    with pytest.raises(ServiceError):
        ask(declaration, actor)


def test_an_amount_with_more_decimals_than_the_currency_is_refused(paid, actor):
    with pytest.raises(ServiceError) as refused:
        ask(paid, actor, amount=Decimal("100.5"))
    assert refused.value.field == "amount"


def test_a_seller_asks_for_a_refund_in_the_browser_and_an_officer_approves(client, paid, owner):
    client.force_login(owner)
    response = client.post(
        f"/refunds/new/{paid.pk}/",
        {
            "reason": "overpayment",
            "amount": "5000",
            "explanation": "The reassessment lowered the duty.",
            "evidence": [photo()],
        },
    )
    refund = Refund.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/refunds/{refund.pk}/"
    assert client.get(f"/refunds/{refund.pk}/").status_code == 200
    evidence = refund.evidence.get()

    officer = staff_user("officer")
    client.force_login(officer)
    # Without the second factor the queue sends the officer to pass it.
    assert client.get("/staff/refunds/").status_code == 302
    session = client.session

    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=officer).persistent_id
    session.save()
    assert b"Refund %d" % refund.pk in client.get("/staff/refunds/").content
    assert client.get(f"/refunds/evidence/{evidence.pk}/").status_code == 200
    client.post(f"/staff/refunds/{refund.pk}/", {"approve": "1", "note": ""})

    assert Refund.objects.get().status == "approved"


def test_another_seller_gets_404_for_a_refund_and_its_evidence(client, paid, actor):
    refund = ask(paid, actor)
    stranger = OrganisationFactory().owner
    client.force_login(stranger)

    assert client.get(f"/refunds/{refund.pk}/").status_code == 404
    assert client.get(f"/refunds/evidence/{refund.evidence.get().pk}/").status_code == 404
    assert client.get(f"/refunds/new/{paid.pk}/").status_code == 404


def test_the_sweeper_pays_out_an_approved_refund_a_lost_message_left_behind(
    paid, actor, monkeypatch
):
    refund = ask(paid, actor)
    Refund.objects.filter(pk=refund.pk).update(
        decided_at=refund.decided_at - datetime.timedelta(minutes=10)
    )
    monkeypatch.setattr(tasks.pay_out_refund, "delay", tasks.pay_out_refund)
    monkeypatch.setattr(tasks.render_refund_receipt, "delay", lambda pk: None)

    tasks.sweep()

    assert Refund.objects.get(pk=refund.pk).status == "paid"
    assert SandboxPayout.objects.count() == 1


def test_the_live_status_of_a_refund_is_shown_only_to_its_seller(client, paid, actor, owner):
    refund = ask(paid, actor)
    client.force_login(owner)
    assert b"Approved" in client.get(f"/refunds/{refund.pk}/status/").content

    client.force_login(OrganisationFactory().owner)
    assert client.get(f"/refunds/{refund.pk}/status/").status_code == 404
