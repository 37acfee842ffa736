import re
import uuid
from datetime import timedelta
from email.message import EmailMessage

import pytest
from django.test import Client
from django.utils import timezone

from clearance.celery import app as celery_app
from publications import consultations, publishing, subscriptions
from publications.models import Delivery, Subscription
from publications.tasks import send_daily_digests
from tests.conftest import Mailbox, queue_busy, wait_for
from tests.publications.helpers import open_consultation, publication, published


def alerts_to(mailbox: Mailbox, email: str, count: int = 1) -> list[EmailMessage]:
    """The alerts sent to ``email``, once there are ``count``. A subscription confirmed in code
    may or may not have had its confirmation email sent first (the worker races the test)."""

    def alerts() -> list[EmailMessage]:
        return [m for m in mailbox.to(email) if m["Subject"] != "Confirm your email alerts"]

    wait_for(lambda: len(alerts()) >= count)
    return alerts()


def link_in(text: str, path: str) -> str:
    found = re.search(rf"https?://[^/\s]+({path}\S+/)", text)
    assert found, text
    return found.group(1)


@pytest.mark.django_db(transaction=True)
def test_alerts_start_only_after_the_address_confirms_and_stop_with_one_click(
    client, celery_worker, mailbox
):
    email = f"reader-{uuid.uuid4().hex[:6]}@example.test"
    pub = publication()
    response = client.post(
        "/publications/subscribe/",
        {"email": email, "publication": pub.pk, "frequency": "immediate"},
    )
    assert "Check your email" in response.content.decode()
    published(pub, title="Before confirming")
    [confirm] = mailbox.wait_for(email)
    assert not Delivery.objects.exists()  # nothing is sent to an unconfirmed address

    client.post(link_in(mailbox.text(confirm), "/publications/subscriptions/confirm/"))
    assert Subscription.objects.get(email=email).is_active
    published(pub, title="Returns policy, second edition")
    alert = mailbox.wait_for(email, count=2)[1]
    assert "Returns policy, second edition" in alert["Subject"]
    unsubscribe = link_in(mailbox.text(alert), "/publications/subscriptions/unsubscribe/")
    assert alert["List-Unsubscribe"] == f"<{re.search(r'<(.*)>', alert['List-Unsubscribe'])[1]}>"

    # One-click (RFC 8058): the mail client posts without a session or CSRF token.
    assert Client(enforce_csrf_checks=True).post(unsubscribe).status_code == 200
    assert not Subscription.objects.get(email=email).is_active
    published(pub, title="Third edition")
    assert Delivery.objects.filter(subscription__email=email).count() == 1


@pytest.mark.django_db
def test_a_tampered_confirmation_link_is_refused(client):
    subscription = subscriptions.subscription_create(
        email="x@example.test", frequency="immediate", language="en"
    )
    token = subscriptions.subscription_token(subscription, subscriptions.SUBSCRIBE_SALT)
    response = client.post(f"/publications/subscriptions/confirm/{token}x/")
    assert response.status_code == 400
    # An unsubscribe token does not confirm, either: the salts differ.
    other = subscriptions.subscription_token(subscription, subscriptions.UNSUBSCRIBE_SALT)
    assert client.post(f"/publications/subscriptions/confirm/{other}/").status_code == 400
    subscription.refresh_from_db()
    assert subscription.confirmed_at is None


@pytest.mark.django_db(transaction=True)
def test_daily_subscribers_get_one_digest_listing_everything_published(celery_worker, mailbox):
    topic = publishing.topic_create(slug=f"returns-{uuid.uuid4().hex[:4]}", name="Returns")
    email = f"digest-{uuid.uuid4().hex[:6]}@example.test"
    subscription = subscriptions.subscription_create(
        email=email, frequency="daily", language="en", topic=topic
    )
    subscriptions.subscription_confirm(
        token=subscriptions.subscription_token(subscription, subscriptions.SUBSCRIBE_SALT)
    )
    published(publication(topics=[topic]), title="First text")
    published(publication(topics=[topic]), title="Second text")
    published(publication(), title="Off topic")
    assert email in {Subscription.objects.get(pk=pk).email for pk in subscriptions.digest_plan()}
    send_daily_digests.delay()
    [message] = alerts_to(mailbox, email)
    digest = mailbox.text(message)
    assert "2 texts published today" in message["Subject"]
    assert "First text" in digest and "Second text" in digest and "Off topic" not in digest
    assert subscription.pk not in subscriptions.digest_plan()  # the next run sends nothing again


@pytest.mark.django_db
def test_the_topic_and_consultation_feeds_are_atom(client):
    topic = publishing.topic_create(slug="thresholds", name="Thresholds")
    published(publication(topics=[topic]), title="De minimis threshold")
    feed = client.get("/publications/topics/thresholds/feed/")
    assert feed["Content-Type"].startswith("application/atom+xml")
    assert "De minimis threshold" in feed.content.decode()
    open_consultation()
    consultations = client.get("/feeds/consultations/").content.decode()
    assert "<feed" in consultations and "Consultation on the returns policy (Open)" in consultations


def settled_inbox(mailbox: Mailbox, email: str, count: int) -> list[EmailMessage]:
    """Every message sent to ``email``, once there are ``count`` and the worker has finished
    all it was given, so that no other message to it is still on its way."""
    mailbox.wait_for(email, count=count)
    wait_for(lambda: not queue_busy(celery_app.conf.task_default_queue), timeout=30)
    return mailbox.to(email)


@pytest.mark.django_db(transaction=True)
def test_subscribers_are_told_when_a_consultation_opens_on_their_topic(
    client, celery_worker, mailbox
):
    # Every message to the subscriber is sent by the session's worker while the test goes on.
    # The test used to confirm the subscription in code straight after making it, racing the
    # confirmation email's task (queued when the subscription was made): as the worker read the
    # subscription before or after the confirmation committed, it sent that email or nothing,
    # and it landed before, between or after the alerts, even after the test had stopped
    # looking. The test coped by dropping messages by their subject and by picking "the second
    # alert" by position, waiting at most 20 seconds for each. Now the confirmation email is
    # awaited and its link followed, as a subscriber does, so each message is queued only by the
    # step just before it; and each check waits until the worker has nothing left to do, so the
    # inbox holds exactly the messages listed, in this order, with none still on its way.
    topic = publishing.topic_create(slug=f"returns-{uuid.uuid4().hex[:4]}", name="Returns")
    email = f"watcher-{uuid.uuid4().hex[:6]}@example.test"
    subscriptions.subscription_create(
        email=email, frequency="immediate", language="en", topic=topic
    )
    [confirm] = settled_inbox(mailbox, email, count=1)
    assert confirm["Subject"] == "Confirm your email alerts"
    client.post(link_in(mailbox.text(confirm), "/publications/subscriptions/confirm/"))
    assert Subscription.objects.get(email=email).is_active

    consultation = open_consultation(publication(topics=[topic]))
    _confirm, alert = settled_inbox(mailbox, email, count=2)
    assert alert["Subject"] == "Open for comment: Proposed returns policy"
    assert f"/publications/consultations/{consultation.pk}/" in mailbox.text(alert)

    # One that opens later is announced by the scheduled task when it opens.
    draft = publishing.version_create(publication=publication(topics=[topic]), language="en",
                                      title="Proposed thresholds", body="# A\n\nB",
                                      by=None)  # fmt: skip
    later = timezone.now() + timedelta(days=1)
    upcoming = consultations.consultation_create(version=draft, title="T", summary="S",
                                                 opens_at=later,
                                                 closes_at=later + timedelta(days=30),
                                                 by=None)  # fmt: skip
    assert not Delivery.objects.filter(version=draft).exists()
    consultations.consultations_advance(now=upcoming.opens_at)
    _confirm, _alert, second = settled_inbox(mailbox, email, count=3)
    assert second["Subject"] == "Open for comment: Proposed thresholds"
    assert f"/publications/consultations/{upcoming.pk}/" in mailbox.text(second)
