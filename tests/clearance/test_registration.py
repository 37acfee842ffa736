import re

import pytest

from clearance.models import Membership, Organisation, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

FORM = {
    "full_name": "Kim Seller",
    "email": "Kim@Shop.example",
    "organisation_name": "Kim Crafts",
    "language": "en",
    "password1": "a-long-enough-passphrase",
    "password2": "a-long-enough-passphrase",
}


def confirmation_path(mailbox, address: str) -> str:
    [message] = mailbox.wait_for(address)
    match = re.search(r"https?://[^/\s]+(/account/verify/\S+/)", mailbox.text(message))
    assert match, mailbox.text(message)
    return match.group(1)


def test_a_seller_registers_confirms_the_email_and_signs_in(client, celery_worker, mailbox):
    response = client.post("/account/register/", FORM)
    assert "Check your email" in response.content.decode()
    user = User.objects.get(email="kim@shop.example")
    assert not user.is_active
    organisation = Organisation.objects.get(name="Kim Crafts")
    assert organisation.kind == "seller"
    assert Membership.objects.get(user=user, organisation=organisation).role == "owner"

    # Before confirming, the password is right but the account does not sign in.
    response = client.post(
        "/account/login/", {"username": "kim@shop.example", "password": FORM["password1"]}
    )
    assert response.status_code == 200

    response = client.get(confirmation_path(mailbox, "kim@shop.example"))
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.is_active and user.email_verified_at is not None
    assert user.history.latest().history_user == user

    response = client.post(
        "/account/login/", {"username": "kim@shop.example", "password": FORM["password1"]}
    )
    assert response.status_code == 302
    assert "Kim Crafts" in client.get("/dashboard/").content.decode()


def test_registration_errors_name_the_field_and_save_nothing(client):
    bad = {**FORM, "email": "not an address", "password2": "something-else-entirely"}
    response = client.post("/account/register/", bad)
    page = response.content.decode()
    assert "There is a problem" in page
    assert 'href="#id_email"' in page
    assert 'href="#id_password2"' in page and "do not match" in page
    assert not Organisation.objects.filter(name="Kim Crafts").exists()


def test_registration_does_not_say_whether_an_address_has_an_account(
    client, celery_worker, mailbox
):
    taken = UserFactory(email="taken@example.test")
    new = client.post("/account/register/", {**FORM, "email": "fresh@example.test"})
    again = client.post(
        "/account/register/",
        {**FORM, "email": "Taken@Example.test", "organisation_name": "Other Crafts"},
    )

    def main(response) -> str:
        html = str(response.content.decode())
        return html[html.index("<main") : html.index("</main>")]

    assert again.status_code == new.status_code == 200
    assert main(again).replace("taken@example.test", "ADDRESS") == main(new).replace(
        "fresh@example.test", "ADDRESS"
    )
    assert not Organisation.objects.filter(name="Other Crafts").exists()
    assert User.objects.filter(email__iexact="taken@example.test").count() == 1
    # The owner of the address is told, and nobody else.
    [message] = mailbox.wait_for(taken.email)
    text = mailbox.text(message)
    assert "already has an account" in text and "/account/password-reset/" in text


def test_a_tampered_confirmation_link_is_refused(client):
    response = client.get("/account/verify/not-a-token/")
    assert response.status_code == 400
    assert "not valid" in response.content.decode()


def test_a_password_reset_email_leads_to_a_new_password(client, celery_worker, mailbox):
    user = UserFactory(email="forgetful@example.test")
    client.post("/account/password-reset/", {"email": "forgetful@example.test"})
    [message] = mailbox.wait_for("forgetful@example.test")
    path = re.search(r"https?://[^/\s]+(/account/password-reset/\S+/)", mailbox.text(message))
    assert path
    response = client.get(path.group(1), follow=True)
    form_url = response.redirect_chain[-1][0]
    response = client.post(
        form_url, {"new_password1": "brand-new-passphrase", "new_password2": "brand-new-passphrase"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("brand-new-passphrase")
