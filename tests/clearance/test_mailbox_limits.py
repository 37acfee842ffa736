"""Forms that send mail to an address anyone can type cannot be used to bomb a mailbox: each
mailbox gets at most EMAILS_PER_RECIPIENT_PER_HOUR such messages, whoever asks."""

import time
import uuid

import pytest

from clearance.errors import ServiceError
from publications import comments, subscriptions
from publications.models import Comment
from tests.factories import UserFactory
from tests.publications.helpers import open_consultation

pytestmark = pytest.mark.django_db(transaction=True)


def an_address() -> str:
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.3"


def test_password_resets_to_one_mailbox_stop_at_the_limit_and_the_page_says_the_same(
    client, celery_worker, mailbox, settings
):
    settings.EMAILS_PER_RECIPIENT_PER_HOUR = 3
    user = UserFactory(email=f"target-{uuid.uuid4().hex[:6]}@example.test")

    answers = [
        client.post("/account/password-reset/", {"email": user.email}, REMOTE_ADDR=an_address())
        for _ in range(5)
    ]

    assert {(a.status_code, a["Location"]) for a in answers} == {
        (302, "/account/password-reset/sent/")
    }
    mailbox.wait_for(user.email, count=3)
    time.sleep(2)  # the worker has had time to send any further message
    assert len(mailbox.to(user.email)) == 3


def test_confirmation_links_to_one_mailbox_stop_at_the_limit_with_a_reason(settings):
    settings.EMAILS_PER_RECIPIENT_PER_HOUR = 3
    consultation = open_consultation()
    email = f"victim-{uuid.uuid4().hex[:6]}@example.test"

    def comment() -> Comment:
        return comments.comment_submit(
            consultation=consultation,
            body=f"Comment {uuid.uuid4().hex}",
            name="Someone",
            email=email,
            user=None,
            address=an_address(),
        )

    for _ in range(3):
        comment()
    with pytest.raises(ServiceError) as refused:
        comment()
    assert (refused.value.field, refused.value.code) == ("email", "rate_limited")
    assert Comment.objects.filter(email=email).count() == 3
    # Subscribing the same mailbox to alerts counts against the same limit.
    with pytest.raises(ServiceError):
        subscriptions.subscription_create(email=email, frequency="immediate", language="en")


def test_registering_again_and_again_with_a_taken_address_mails_its_owner_at_most_the_limit(
    client, celery_worker, mailbox, settings
):
    settings.EMAILS_PER_RECIPIENT_PER_HOUR = 2
    taken = UserFactory(email=f"owner-{uuid.uuid4().hex[:6]}@example.test")
    form = {
        "full_name": "Somebody",
        "email": taken.email,
        "language": "en",
        "password1": "a-long-enough-passphrase",
        "password2": "a-long-enough-passphrase",
    }
    for n in range(4):
        client.post("/account/register/", {**form, "organisation_name": f"Shop {n}"})

    mailbox.wait_for(taken.email, count=2)
    time.sleep(2)
    assert len(mailbox.to(taken.email)) == 2
