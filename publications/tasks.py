"""Celery tasks of the public portal. Each takes ids; beat runs the periodic ones."""

import logging

from celery import shared_task
from django.conf import settings
from django.urls import reverse

from clearance.mail import send_templated_email
from publications import comments, consultations, publishing, subscriptions
from publications.models import Comment, Delivery, Subscription, Version

log = logging.getLogger(__name__)

COMMENT_EMAILS = {"confirm", "receipt", "published", "consultation_concluded"}


def send_email(
    *,
    to: str,
    template: str,
    context: dict[str, object],
    language: str,
    unsubscribe: str = "",
) -> None:
    """Send ``publications/emails/<template>/``; with ``unsubscribe``, with the one-click
    unsubscribe headers (RFC 8058)."""
    send_templated_email(
        to=to,
        template=f"publications/emails/{template}",
        context=context,
        language=language,
        unsubscribe=unsubscribe,
    )


@shared_task(name="publications.send_comment_email", time_limit=60)
def send_comment_email(comment_id: int, kind: str) -> None:
    """Email an anonymous commenter: the confirmation link, the receipt, or news of it."""
    if kind not in COMMENT_EMAILS:
        raise ValueError(f"unknown comment email {kind!r}")
    comment = Comment.objects.select_related("consultation").filter(pk=comment_id).first()
    if comment is None:
        return
    if kind == "confirm" and comment.status != Comment.Status.UNCONFIRMED:
        return  # already confirmed: the link is not needed any more
    context = comments.comment_context(comment)
    context["pre_moderation"] = settings.COMMENT_PRE_MODERATION
    if kind == "confirm":
        token = comments.comment_confirm_token(comment)
        context["link"] = settings.SITE_URL + reverse("publications:comment_confirm", args=[token])
    send_email(
        to=comment.email,
        template=f"comment_{kind}",
        context=context,
        language=comment.language,
    )


@shared_task(name="publications.send_subscription_email", time_limit=60)
def send_subscription_email(subscription_id: int, kind: str) -> None:
    if kind != "confirm":
        raise ValueError(f"unknown subscription email {kind!r}")
    subscription = Subscription.objects.filter(pk=subscription_id, confirmed_at=None).first()
    if subscription is None:
        return
    token = subscriptions.subscription_token(subscription, subscriptions.SUBSCRIBE_SALT)
    send_email(
        to=subscription.email,
        template="subscription_confirm",
        context={
            "link": settings.SITE_URL + reverse("publications:subscription_confirm", args=[token]),
            "subscription": subscription,
        },
        language=subscription.language,
    )


def _unsubscribe_link(subscription: Subscription) -> str:
    token = subscriptions.subscription_token(subscription, subscriptions.UNSUBSCRIBE_SALT)
    return settings.SITE_URL + reverse("publications:unsubscribe", args=[token])


@shared_task(name="publications.send_alert", time_limit=60)
def send_alert(delivery_id: int) -> None:
    """Tell a subscriber at once that a version was published; at most once per delivery."""
    delivery = (
        Delivery.objects.select_related("subscription", "version__publication")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None or not delivery.subscription.is_active:
        return
    if not subscriptions.claim_deliveries(
        subscription_id=delivery.subscription_id, version_ids=[delivery.version_id]
    ):
        return
    send_email(
        to=delivery.subscription.email,
        template="alert",
        context={"versions": [delivery.version]},
        language=delivery.subscription.language,
        unsubscribe=_unsubscribe_link(delivery.subscription),
    )


@shared_task(name="publications.send_daily_digests", time_limit=600)
def send_daily_digests() -> int:
    """One email per daily subscriber listing what was published since the last digest."""
    sent = 0
    for subscription_id, version_ids in subscriptions.digest_plan().items():
        subscription = Subscription.objects.get(pk=subscription_id)
        if not subscriptions.claim_deliveries(
            subscription_id=subscription_id, version_ids=version_ids
        ):
            continue
        versions = list(
            Version.objects.filter(pk__in=version_ids).select_related("publication").order_by("pk")
        )
        send_email(
            to=subscription.email,
            template="digest",
            context={"versions": versions},
            language=subscription.language,
            unsubscribe=_unsubscribe_link(subscription),
        )
        sent += 1
    return sent


@shared_task(name="publications.advance_consultations", time_limit=120)
def advance_consultations() -> int:
    return consultations.consultations_advance()


@shared_task(name="publications.refresh_figures", time_limit=300)
def refresh_figures() -> int:
    """Render again the texts whose figures changed with a setting or a regime."""
    return publishing.versions_refresh_figures()
