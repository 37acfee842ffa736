"""Celery tasks of the clearance core. Each takes ids and is safe to run twice."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_totp.models import TOTPDevice

from clearance import ratefeed
from clearance.enrolment import enrolment_link
from clearance.errors import ServiceError
from clearance.exchange_rates import demo_rates_carry_forward
from clearance.mail import send_templated_email
from clearance.models import Notification, User
from clearance.tokens import verification_token

log = logging.getLogger(__name__)


@shared_task(name="clearance.send_verification_email", time_limit=60)
def send_verification_email(user_id: int) -> None:
    user = User.objects.filter(pk=user_id, email_verified_at__isnull=True).first()
    if user is None:
        return  # already confirmed, or gone: nothing to send
    link = settings.SITE_URL + reverse("verify_email", args=[verification_token(user)])
    send_templated_email(
        to=user.email,
        template="emails/verify_email",
        context={"user": user, "link": link},
        language=user.language,
    )


@shared_task(name="clearance.send_already_registered_email", time_limit=60)
def send_already_registered_email(user_id: int) -> None:
    """Someone registered with an address that has an account: its owner is told, and nobody
    else learns that the account exists."""
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return
    send_templated_email(
        to=user.email,
        template="emails/already_registered",
        context={
            "user": user,
            "sign_in": settings.SITE_URL + reverse("login"),
            "reset": settings.SITE_URL + reverse("password_reset"),
        },
        language=user.language,
    )


@shared_task(name="clearance.send_enrolment_email", time_limit=60)
def send_enrolment_email(user_id: int) -> None:
    """The link that lets a staff member set up a first second factor (clearance.enrolment)."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return
    send_templated_email(
        to=user.email,
        template="emails/enrol_second_factor",
        context={"user": user, "link": enrolment_link(user)},
        language=user.language,
    )


@shared_task(name="clearance.send_password_reset_email", time_limit=60)
def send_password_reset_email(user_id: int) -> None:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = settings.SITE_URL + reverse("password_reset_confirm", args=[uid, token])
    send_templated_email(
        to=user.email,
        template="emails/password_reset",
        context={"user": user, "link": link},
        language=user.language,
    )


@shared_task(name="clearance.send_notification_email", time_limit=60)
def send_notification_email(notification_id: int) -> None:
    """Send a notification's email at most once.

    The row is claimed pending → sending by a conditional update, so two deliveries of this
    task (a redelivered message, the sweeper) cannot both send.
    """
    claimed = Notification.objects.filter(
        pk=notification_id, email_status=Notification.EmailStatus.PENDING
    ).update(email_status=Notification.EmailStatus.SENDING, email_attempts=1)
    if claimed != 1:
        return
    notification = Notification.objects.select_related("recipient").get(pk=notification_id)
    recipient = notification.recipient
    try:
        send_templated_email(
            to=recipient.email,
            template=f"notifications/{notification.event}",
            context={**notification.context, "url": notification.url},
            language=recipient.language,
        )
    except OSError:
        log.exception("notification %s: SMTP delivery failed", notification_id)
        # The server refused or was unreachable before accepting the message: safe to retry.
        Notification.objects.filter(pk=notification_id).update(
            email_status=Notification.EmailStatus.PENDING
        )
        raise
    Notification.objects.filter(pk=notification_id).update(
        email_status=Notification.EmailStatus.SENT, email_sent_at=timezone.now()
    )


@shared_task(name="clearance.sweep_notification_outbox", time_limit=120)
def sweep_notification_outbox() -> int:
    """Re-queue emails whose message was lost (a broker restart, a dead worker)."""
    stale = timezone.now() - timedelta(minutes=5)
    ids = list(
        Notification.objects.filter(
            email_status=Notification.EmailStatus.PENDING, created_at__lt=stale
        ).values_list("pk", flat=True)[:1000]
    )
    for pk in ids:
        send_notification_email.delay(pk)
    return len(ids)


# --- Exchange rates -------------------------------------------------------------------------


@shared_task(
    name="clearance.fetch_exchange_rates",
    autoretry_for=(OSError,),
    retry_backoff=60,
    retry_backoff_max=3600,
    max_retries=6,
    time_limit=300,
)
def fetch_exchange_rates(url: str | None = None) -> int:
    """Beat runs this every hour: fetch ``EXCHANGE_RATE_FEED_URL`` and store its rates
    (``clearance.ratefeed``). A network failure is retried with growing waits; a file that
    cannot be read is logged and left for the next hour. Returns the rates stored."""
    try:
        return ratefeed.feed_import(url).stored
    except ServiceError as error:
        log.error("exchange-rate feed %s refused: %s", url or "", error.message)
        return 0


@shared_task(name="clearance.carry_demo_rates", time_limit=300)
def carry_demo_rates() -> int:
    """With DEBUG on only (a demo): repeat the newest published rates up to today as demo
    rates, so the demo assesses today's parcels on a closed network."""
    return demo_rates_carry_forward(timezone.localdate())
