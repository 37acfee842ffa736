"""Celery tasks of payments and refunds. Each takes ids and is safe to run twice."""

import datetime
import logging
from collections.abc import Callable

from celery import shared_task
from django.core.files.base import ContentFile
from django.db.models import QuerySet
from django.utils import timezone

from clearance.pdf import render_pdf
from refunds import documents, payments, services, statements
from refunds.models import Payment, Refund, RefundStatus, Statement

log = logging.getLogger(__name__)


@shared_task(name="refunds.release_settled", time_limit=300)
def release_settled(declaration_ids: list[int]) -> int:
    """Release declarations waiting for payment that need none now: on a deferred account, or
    already paid. Queued by name whenever declarations are sent to payment; running it twice
    releases nothing more."""
    return payments.release_settled(declaration_ids=declaration_ids)


@shared_task(name="refunds.pay_out_refund", time_limit=120)
def pay_out_refund(refund_id: int) -> None:
    # Not retried automatically: a retry after an unknown provider outcome could pay twice.
    # The sweeper re-enqueues approved refunds, and the payout itself runs at most once.
    services.refund_pay_out(refund_id=refund_id)


def _render_once[M: Payment | Refund | Statement](
    found: QuerySet[M],
    field: str,
    document: Callable[[M], documents.Document],
    name: Callable[[M], str],
) -> None:
    """Render the PDF of the record ``found`` holds into its file ``field``, unless there is no
    such record (any more) or the file is already there."""
    instance = found.first()
    if instance is None or getattr(instance, field):
        return
    template, context, language = document(instance)
    pdf = render_pdf(template, context, language=language)
    file = getattr(instance, field)
    file.save(name(instance), ContentFile(pdf), save=False)
    # A document, not a state change: set only the empty file field, once.
    type(instance).objects.filter(pk=instance.pk, **{field: ""}).update(**{field: file.name})


@shared_task(name="refunds.render_payment_receipt", time_limit=120)
def render_payment_receipt(payment_id: int) -> None:
    _render_once(
        Payment.objects.filter(pk=payment_id, status=Payment.Status.SETTLED),
        "receipt",
        documents.payment_receipt,
        lambda payment: f"receipt-{payment.reference}.pdf",
    )


@shared_task(name="refunds.render_refund_receipt", time_limit=120)
def render_refund_receipt(refund_id: int) -> None:
    _render_once(
        Refund.objects.filter(pk=refund_id, status=RefundStatus.PAID),
        "receipt",
        documents.refund_receipt,
        lambda refund: f"refund-{refund.pk}.pdf",
    )


@shared_task(name="refunds.render_statement", time_limit=120)
def render_statement(statement_id: int) -> None:
    _render_once(
        Statement.objects.filter(pk=statement_id),
        "document",
        documents.statement,
        lambda statement: f"statement-{statement.pk}.pdf",
    )


@shared_task(name="refunds.issue_monthly_statements", time_limit=600)
def issue_monthly_statements() -> int:
    """Beat runs this on the 1st: the statements of the month that just ended."""
    last_month = timezone.localdate().replace(day=1) - datetime.timedelta(days=1)
    return len(statements.statements_issue(period=last_month))


@shared_task(name="refunds.sweep", time_limit=300)
def sweep() -> None:
    """Overdue statements, and work a lost message left behind: approved refunds not yet paid,
    documents not yet rendered."""
    statements.statements_mark_overdue(today=timezone.localdate())
    stale = timezone.now() - datetime.timedelta(minutes=5)
    # A payment whose callback was lost: ask the provider (the sandbox always calls back).
    for payment in Payment.objects.filter(
        status=Payment.Status.PENDING, created_at__lt=stale
    ).exclude(provider="sandbox")[:200]:
        try:
            payments.payment_reconcile(payment=payment)
        except Exception:
            # The provider unreachable: the next sweep asks again; the rest of the sweep runs.
            log.exception("payment %s: could not ask the provider", payment.reference)
    for pk in Refund.objects.filter(status=RefundStatus.APPROVED, decided_at__lt=stale).values_list(
        "pk", flat=True
    ):
        pay_out_refund.delay(pk)
    for pk in Refund.objects.filter(
        status=RefundStatus.PAID, receipt="", paid_at__lt=stale
    ).values_list("pk", flat=True):
        render_refund_receipt.delay(pk)
    for pk in Payment.objects.filter(
        status=Payment.Status.SETTLED, receipt="", settled_at__lt=stale
    ).values_list("pk", flat=True):
        render_payment_receipt.delay(pk)
    for pk in Statement.objects.filter(document="", issued_at__lt=stale).values_list(
        "pk", flat=True
    ):
        render_statement.delay(pk)
