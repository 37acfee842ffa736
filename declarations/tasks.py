"""Celery tasks of declarations. Each takes an id and is safe to run twice."""

from celery import shared_task
from django.utils.translation import gettext as _

from declarations import csvfiles
from declarations.models import CsvUpload


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
