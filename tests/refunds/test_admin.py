import pytest
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from refunds import payments
from tests.factories import staff_user
from tests.refunds.helpers import callback, due_declaration, post_callback

pytestmark = pytest.mark.django_db


def test_administrators_see_money_records_but_cannot_change_them(client, organisation, actor):
    declaration = due_declaration(organisation)
    payment, _url = payments.payment_start(declaration=declaration, actor=actor)
    post_callback(client, *callback(payment.reference, "30000", "KRW"))
    admin = staff_user("administrator")
    client.force_login(admin)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=admin).persistent_id
    session.save()

    for model in ("ledgerentry", "payment", "refund", "statement", "deferredaccount"):
        assert client.get(f"/admin/refunds/{model}/").status_code == 200
    assert payment.reference in client.get("/admin/refunds/payment/").content.decode()
    assert client.get("/admin/refunds/ledgerentry/add/").status_code == 403
    assert client.post(f"/admin/refunds/payment/{payment.pk}/delete/").status_code == 403


def test_an_officer_does_not_reach_the_money_records_in_the_admin(client):
    officer = staff_user("officer")
    client.force_login(officer)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=officer).persistent_id
    session.save()

    assert client.get("/admin/refunds/payment/").status_code in (302, 403)
