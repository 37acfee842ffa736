"""Email alerts: subscribing with double opt-in, alerts at once or in a daily digest, and
one-click unsubscribing from any alert.

An alert is a ``Delivery``, one per subscription and version, so a subscriber hears about a
version at most once; the tasks in ``publications.tasks`` send them.
"""

from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from clearance.errors import ServiceError
from clearance.queue import enqueue_on_commit
from publications.limits import CONFIRM_MAX_AGE, confirmation_email_allowed, rate_limit
from publications.locks import lock_linked_subscription
from publications.models import Delivery, Publication, Subscription, Topic, Version

SUBSCRIBE_SALT = "publications.subscription-confirm"
UNSUBSCRIBE_SALT = "publications.unsubscribe"


def subscription_create(
    *,
    email: str,
    frequency: str,
    language: str,
    topic: Topic | None = None,
    publication: Publication | None = None,
) -> Subscription:
    """Ask for alerts; nothing is sent until the address confirms (double opt-in)."""

    if topic is not None and publication is not None:
        raise ServiceError(_("Subscribe to a topic or to a publication, not both."), field="topic")
    if frequency not in Subscription.Frequency.values:
        raise ServiceError(_("Choose how often to be told."), field="frequency")
    rate_limit("subscribe", email)
    confirmation_email_allowed(email)
    with transaction.atomic():
        subscription = Subscription.objects.create(
            email=email.strip().lower(),
            frequency=frequency,
            language=language,
            topic=topic,
            publication=publication,
        )
        enqueue_on_commit("publications.send_subscription_email", subscription.pk, "confirm")
    return subscription


def subscription_token(subscription: Subscription, salt: str) -> str:
    return signing.dumps({"s": subscription.pk, "e": subscription.email}, salt=salt)


def _subscription_from(token: str, salt: str, max_age: int | None) -> Subscription:
    try:
        data = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired:
        raise ServiceError(_("This link has expired."), code="expired") from None
    except signing.BadSignature:
        raise ServiceError(_("This link is not valid."), code="invalid") from None
    subscription = lock_linked_subscription(data["s"], data["e"])
    if subscription is None:
        raise ServiceError(_("This link is not valid."), code="invalid")
    return subscription


def subscription_confirm(*, token: str) -> Subscription:
    with transaction.atomic():
        subscription = _subscription_from(token, SUBSCRIBE_SALT, CONFIRM_MAX_AGE)
        if subscription.confirmed_at is None:
            subscription.confirmed_at = timezone.now()
            subscription.save(update_fields=["confirmed_at"])
    return subscription


def subscription_unsubscribe(*, token: str) -> Subscription:
    """One click from any alert: the token never expires, and using it twice is harmless."""
    with transaction.atomic():
        subscription = _subscription_from(token, UNSUBSCRIBE_SALT, None)
        if subscription.unsubscribed_at is None:
            subscription.unsubscribed_at = timezone.now()
            subscription.save(update_fields=["unsubscribed_at"])
    return subscription


def alert_subscribers(version: Version) -> None:
    """Queue an alert about a version to each matching subscriber: a published text, or a
    proposed one that opens for comment. Immediate ones are sent once the transaction commits;
    daily ones wait for the digest."""

    topic_ids = list(version.publication.topics.values_list("pk", flat=True))
    subscriptions = Subscription.objects.filter(
        confirmed_at__isnull=False, unsubscribed_at__isnull=True
    ).filter(
        Q(publication=version.publication)
        | Q(topic_id__in=topic_ids)
        | Q(topic__isnull=True, publication__isnull=True)
    )
    for subscription in subscriptions:
        delivery, created = Delivery.objects.get_or_create(
            subscription=subscription, version=version
        )
        if created and subscription.frequency == Subscription.Frequency.IMMEDIATE:
            enqueue_on_commit("publications.send_alert", delivery.pk)


def digest_plan() -> dict[int, list[int]]:
    """Unsent daily-digest deliveries, as subscription id -> version ids."""
    plan: dict[int, list[int]] = {}
    rows = (
        Delivery.objects.filter(
            sent_at__isnull=True,
            subscription__frequency=Subscription.Frequency.DAILY,
            subscription__unsubscribed_at__isnull=True,
        )
        .order_by("pk")
        .values_list("subscription_id", "version_id")
    )
    for subscription_id, version_id in rows:
        plan.setdefault(subscription_id, []).append(version_id)
    return plan


def claim_deliveries(*, subscription_id: int, version_ids: list[int]) -> int:
    """Mark deliveries sent before sending, so a second run cannot send them again."""
    return Delivery.objects.filter(
        subscription_id=subscription_id, version_id__in=version_ids, sent_at__isnull=True
    ).update(sent_at=timezone.now())
