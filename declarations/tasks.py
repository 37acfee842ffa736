"""Celery tasks of declarations. Each takes an id and is safe to run twice."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from clearance.mail import send_templated_email
from declarations import csvfiles, services, webhook_delivery
from declarations.models import CsvUpload, WebhookEndpoint


@shared_task(name="declarations.check_csv_upload", time_limit=1800, soft_time_limit=1700)
def check_csv_upload(upload_id: int) -> None:
    if not CsvUpload.objects.filter(pk=upload_id, state=CsvUpload.State.CHECKING).exists():
        return
    try:
        csvfiles.upload_check(upload_id)
    except Exception:
        CsvUpload.objects.filter(pk=upload_id, state=CsvUpload.State.CHECKING).update(
            state=CsvUpload.State.FAILED, failure=_("The file could not be read.")
        )
        raise


@shared_task(name="declarations.import_csv_upload", time_limit=3600, soft_time_limit=3500)
def import_csv_upload(upload_id: int) -> None:
    csvfiles.upload_import(upload_id)


STUCK_AFTER = timedelta(minutes=15)


@shared_task(name="declarations.sweep_csv_uploads", time_limit=60)
def sweep_csv_uploads() -> int:
    """Queue again the uploads that a lost message or a dead worker left checking or
    importing for longer than STUCK_AFTER. Both tasks are safe to run twice."""
    stale = CsvUpload.objects.filter(created_at__lt=timezone.now() - STUCK_AFTER)
    count = 0
    for pk in stale.filter(state=CsvUpload.State.CHECKING).values_list("pk", flat=True):
        check_csv_upload.delay(pk)
        count += 1
    for pk in stale.filter(state=CsvUpload.State.IMPORTING).values_list("pk", flat=True):
        import_csv_upload.delay(pk)
        count += 1
    return count


@shared_task(name="declarations.reassess_held", time_limit=600, soft_time_limit=580)
def reassess_held() -> int:
    """Assess again every declaration held for a missing rate or regime, in sets. Queued after
    rates or a regime are stored, and by beat as a sweeper; running it twice moves nothing
    more. Returns how many moved on to scoring."""
    moved, after = 0, 0
    while True:
        count, last = services.held_reassess(after=after)
        if last is None:
            return moved
        moved, after = moved + count, last


# --- Webhooks (see declarations.webhook_delivery) -------------------------------------------


@shared_task(name="declarations.webhook_relay", time_limit=120, soft_time_limit=110)
def webhook_relay() -> int:
    """Turn new events into deliveries: nudged after each change, and run by beat."""
    return webhook_delivery.relay()


@shared_task(name="declarations.webhook_sweep", time_limit=60)
def webhook_sweep() -> int:
    """Queue the sends of the deliveries now due (first attempts whose message was lost, and
    retries); run by beat every few seconds."""
    return webhook_delivery.sweep()


@shared_task(name="declarations.webhook_send", time_limit=120)
def webhook_send(delivery_id: int) -> None:
    webhook_delivery.send(delivery_id)


@shared_task(name="declarations.webhook_redeliver", time_limit=120)
def webhook_redeliver(delivery_id: int, user_id: int | None) -> None:
    webhook_delivery.redeliver_now(delivery_id, user_id)


@shared_task(name="declarations.send_webhook_disabled_email", time_limit=60)
def send_webhook_disabled_email(endpoint_id: int) -> None:
    """Tell the organisation's owner that an endpoint was disabled (if it still is)."""
    endpoint = (
        WebhookEndpoint.objects.select_related("organisation__owner")
        .filter(pk=endpoint_id, active=False)
        .first()
    )
    if endpoint is None:
        return
    owner = endpoint.organisation.owner
    send_templated_email(
        to=owner.email,
        template="declarations/webhook_disabled_email",
        context={
            "user": owner,
            "endpoint": endpoint,
            "link": settings.SITE_URL + reverse("webhook_endpoint", args=[endpoint.pk]),
        },
        language=owner.language,
    )
