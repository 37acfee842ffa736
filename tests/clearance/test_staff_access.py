import re

import pytest
from django.core import signing
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from clearance import enrolment, services
from clearance.errors import ServiceError
from tests.factories import PASSWORD, OrganisationFactory, current_totp, staff_user

pytestmark = pytest.mark.django_db


def sign_in(client, user):
    response = client.post("/account/login/", {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]


def test_a_seller_gets_404_on_staff_pages(client):
    seller = OrganisationFactory().owner
    sign_in(client, seller)
    assert client.get("/staff/").status_code == 404


def test_staff_without_a_verified_second_factor_are_sent_to_verify(client):
    officer = staff_user("officer")
    sign_in(client, officer)
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response["Location"] == "/account/two-factor/?next=%2Fstaff%2F"


def test_staff_with_a_verified_totp_code_reach_the_staff_workspace(client):
    officer = staff_user("officer")
    sign_in(client, officer)
    response = client.post(
        "/account/two-factor/", {"token": current_totp(officer), "next": "/staff/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200


def test_a_wrong_code_is_refused_with_a_message_on_the_field(client):
    officer = staff_user("officer")
    sign_in(client, officer)
    response = client.post("/account/two-factor/", {"token": "000000", "next": "/staff/"})
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert client.get("/staff/").status_code == 302


def test_a_backup_code_works_once(client):
    supervisor = staff_user("supervisor")
    [code, *_] = services.backup_codes_reset(user=supervisor)
    sign_in(client, supervisor)
    assert client.post("/account/two-factor/", {"token": code}).status_code == 302
    assert client.get("/staff/").status_code == 200
    assert not StaticToken.objects.filter(token=code).exists()


@pytest.mark.django_db(transaction=True)
def test_staff_without_a_device_set_one_up_through_an_emailed_link_and_get_backup_codes(
    client, celery_worker, mailbox
):
    editor = staff_user("editor", with_device=False)
    sign_in(client, editor)
    page = client.get("/account/two-factor/").content.decode()
    assert "Email me a set-up link" in page
    assert not TOTPDevice.objects.filter(user=editor).exists()  # no key to show anyone yet

    sent = client.post("/account/two-factor/", {"next": "/staff/"}).content.decode()
    assert f"We have sent a set-up link to {editor.email}" in sent
    [message] = mailbox.wait_for(editor.email)
    link = re.search(r"https?://[^/\s]+(/account/two-factor/enrol/\S+/)", mailbox.text(message))
    assert link, mailbox.text(message)
    assert client.get(link.group(1))["Location"] == "/account/two-factor/"

    page = client.get("/account/two-factor/").content.decode()
    device = TOTPDevice.objects.get(user=editor, confirmed=False)
    assert "Add this account to your authenticator app" in page
    code = f"{totp(device.bin_key):06d}"
    response = client.post("/account/two-factor/", {"token": code, "next": "/staff/"})
    assert "Your backup codes" in response.content.decode()
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert client.get("/staff/").status_code == 200
    # Used once: the link now leads nowhere.
    assert client.get(link.group(1)).status_code == 400


@pytest.mark.django_db(transaction=True)
def test_the_password_alone_never_sees_the_key_and_a_link_works_only_for_its_account(
    client, celery_worker, mailbox
):
    editor = staff_user("editor", with_device=False)
    intruder = Client()
    sign_in(intruder, editor)  # has the password, not the mailbox
    intruder.post("/account/two-factor/", {})
    mailbox.wait_for(editor.email)
    device = TOTPDevice.objects.get(user=editor, confirmed=False)
    page = intruder.get("/account/two-factor/").content.decode()
    assert "authenticator app" in page and device.bin_key.hex() not in page
    code = f"{totp(device.bin_key):06d}"  # even a right code is no use without the link
    intruder.post("/account/two-factor/", {"token": code})
    assert not TOTPDevice.objects.get(pk=device.pk).confirmed

    other = staff_user("officer", with_device=False)
    sign_in(client, other)
    token = signing.dumps({"u": editor.pk, "d": device.pk}, salt=enrolment.SALT)
    assert client.get(f"/account/two-factor/enrol/{token}/").status_code == 400


def test_the_admin_site_needs_the_second_factor_too(client):
    admin = staff_user("administrator")
    sign_in(client, admin)
    assert client.get("/admin/").status_code == 302
    client.post("/account/two-factor/", {"token": current_totp(admin)})
    assert client.get("/admin/").status_code == 200


def test_the_next_parameter_cannot_send_staff_to_another_site(client):
    officer = staff_user("officer")
    sign_in(client, officer)
    response = client.post(
        "/account/two-factor/", {"token": current_totp(officer), "next": "https://evil.example/"}
    )
    assert response["Location"] == "/staff/"


def test_role_changes_are_recorded_with_who_made_them():
    admin = staff_user("administrator")
    officer = staff_user("officer")
    services.user_set_roles(user=officer, roles=["officer", "supervisor"], by=admin)
    latest = officer.history.latest()
    assert latest.history_user == admin
    assert officer.role_names == {"officer", "supervisor"}


def test_an_unknown_role_is_refused_by_name():
    officer = staff_user("officer")
    with pytest.raises(ServiceError, match="Unknown role: inspector"):
        services.user_set_roles(user=officer, roles=["inspector"], by=None)
