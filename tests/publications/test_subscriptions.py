import re
import uuid
from email.message import EmailMessage

import pytest

from publications import services
from publications.models import Delivery, Subscription
from publications.tasks import send_daily_digests
from tests.conftest import Mailbox, wait_for
from tests.publications.helpers import publication, published


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
    from django.test import Client

    assert Client(enforce_csrf_checks=True).post(unsubscribe).status_code == 200
    assert not Subscription.objects.get(email=email).is_active
    published(pub, title="Third edition")
    assert Delivery.objects.filter(subscription__email=email).count() == 1


@pytest.mark.django_db
def test_a_tampered_confirmation_link_is_refused(client):
    subscription = services.subscription_create(
        email="x@example.test", frequency="immediate", language="en"
    )
    token = services.subscription_token(subscription, services.SUBSCRIBE_SALT)
    response = client.post(f"/publications/subscriptions/confirm/{token}x/")
    assert response.status_code == 400
    # An unsubscribe token does not confirm, either: the salts differ.
    other = services.subscription_token(subscription, services.UNSUBSCRIBE_SALT)
    assert client.post(f"/publications/subscriptions/confirm/{other}/").status_code == 400
    subscription.refresh_from_db()
    assert subscription.confirmed_at is None


@pytest.mark.django_db(transaction=True)
def test_daily_subscribers_get_one_digest_listing_everything_published(celery_worker, mailbox):
    from publications import services as s

    topic = s.topic_create(slug=f"returns-{uuid.uuid4().hex[:4]}", name="Returns")
    email = f"digest-{uuid.uuid4().hex[:6]}@example.test"
    subscription = s.subscription_create(email=email, frequency="daily", language="en", topic=topic)
    s.subscription_confirm(token=s.subscription_token(subscription, s.SUBSCRIBE_SALT))
    published(publication(topics=[topic]), title="First text")
    published(publication(topics=[topic]), title="Second text")
    published(publication(), title="Off topic")
    assert email in {Subscription.objects.get(pk=pk).email for pk in s.digest_plan()}
    send_daily_digests.delay()
    [message] = alerts_to(mailbox, email)
    digest = mailbox.text(message)
    assert "2 texts published today" in message["Subject"]
    assert "First text" in digest and "Second text" in digest and "Off topic" not in digest
    assert subscription.pk not in s.digest_plan()  # the next run sends nothing again


@pytest.mark.django_db
def test_the_topic_and_consultation_feeds_are_atom(client):
    from publications import services as s
    from tests.publications.helpers import open_consultation

    topic = s.topic_create(slug="thresholds", name="Thresholds")
    published(publication(topics=[topic]), title="De minimis threshold")
    feed = client.get("/publications/topics/thresholds/feed/")
    assert feed["Content-Type"].startswith("application/atom+xml")
    assert "De minimis threshold" in feed.content.decode()
    open_consultation()
    consultations = client.get("/feeds/consultations/").content.decode()
    assert "<feed" in consultations and "Consultation on the returns policy (Open)" in consultations


@pytest.mark.django_db(transaction=True)
def test_subscribers_are_told_when_a_consultation_opens_on_their_topic(celery_worker, mailbox):
    from datetime import timedelta

    from django.utils import timezone

    from publications import services as s
    from tests.publications.helpers import open_consultation

    topic = s.topic_create(slug=f"returns-{uuid.uuid4().hex[:4]}", name="Returns")
    email = f"watcher-{uuid.uuid4().hex[:6]}@example.test"
    subscription = s.subscription_create(email=email, frequency="immediate", language="en",
                                         topic=topic)  # fmt: skip
    s.subscription_confirm(token=s.subscription_token(subscription, s.SUBSCRIBE_SALT))
    consultation = open_consultation(publication(topics=[topic]))
    [alert] = alerts_to(mailbox, email)
    assert alert["Subject"] == "Open for comment: Proposed returns policy"
    assert f"/publications/consultations/{consultation.pk}/" in mailbox.text(alert)

    # One that opens later is announced by the scheduled task when it opens.
    draft = s.version_create(publication=publication(topics=[topic]), language="en",
                             title="Proposed thresholds", body="# A\n\nB", by=None)  # fmt: skip
    later = timezone.now() + timedelta(days=1)
    upcoming = s.consultation_create(version=draft, title="T", summary="S", opens_at=later,
                                     closes_at=later + timedelta(days=30), by=None)  # fmt: skip
    assert not Delivery.objects.filter(version=draft).exists()
    s.consultations_advance(now=upcoming.opens_at)
    second = alerts_to(mailbox, email, count=2)[1]
    assert second["Subject"] == "Open for comment: Proposed thresholds"
