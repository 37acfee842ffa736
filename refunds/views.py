"""Pages of payments and refunds: the seller's payments page, paying, asking for a refund,
the provider's webhook, and the officers' refund queue."""

import contextlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from clearance.access import organisations_of, staff_required
from clearance.actors import Actor
from clearance.errors import ServiceError
from clearance.models import User
from declarations import access as declaration_access
from declarations.models import Declaration, Status
from refunds import access, amounts, payments, services
from refunds.forms import DecisionForm, RefundForm
from refunds.models import REFUND_AWAITING_DECISION, LedgerEntry, Payment, Refund, Statement
from refunds.providers import CallbackRefused


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _attachment(file: FieldFile, name: str, content_type: str = "application/pdf") -> FileResponse:
    """A stored file as a download (a PDF unless said otherwise); 404 while it is not there yet
    (a receipt or statement is rendered after commit)."""
    if not file:
        raise Http404
    return FileResponse(
        file.open("rb"), as_attachment=True, filename=name, content_type=content_type
    )


@login_required
def payments_page(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    mine = organisations_of(user)
    awaiting = [
        (declaration, amounts.amount_outstanding(declaration), amounts.amount_due(declaration)[1])
        for declaration in Declaration.objects.of(mine).filter(status=Status.AWAITING_PAYMENT)[:50]
    ]
    context = {
        "awaiting": awaiting,
        "payments": Payment.objects.filter(organisation_id__in=mine).select_related(
            "declaration", "statement"
        )[:100],
        "statements": Statement.objects.filter(organisation_id__in=mine)[:24],
        "refunds": Refund.objects.filter(organisation_id__in=mine).select_related("declaration")[
            :100
        ],
        "balance": LedgerEntry.objects.filter(organisation_id__in=mine).balance(),
        "refundable": Declaration.objects.of(mine)
        .filter(status=Status.RELEASED)
        .filter(Q(payments__status=Payment.Status.SETTLED) | Q(ledger_entries__deferred=True))
        .distinct()[:50],
    }
    return render(request, "refunds/payments.html", context)


@login_required
@require_POST
def pay_declaration(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    declaration = declaration_access.declaration_for_user(user, pk)
    try:
        _payment, url = payments.payment_start(declaration=declaration, actor=Actor(user=user))
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("payments")
    return redirect(url)


@login_required
@require_POST
def pay_statement(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    statement = access.statement_for_user(user, pk)
    try:
        _payment, url = payments.payment_start(statement=statement, actor=Actor(user=user))
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("payments")
    return redirect(url)


@login_required
def payment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Where the provider sends the payer back. The webhook settles the payment; if it has
    not arrived yet, the provider is asked once (a lost webhook is found here, not only by
    the sweeper minutes later), and the page goes on polling the status meanwhile."""
    payment = access.payment_for_user(_user(request), pk)
    if payment.status == Payment.Status.PENDING and payment.provider_reference:
        # The provider unreachable: the page says pending, and the sweeper asks again.
        with contextlib.suppress(ServiceError):
            payments.payment_reconcile(payment=payment)
        payment.refresh_from_db()
    return render(request, "refunds/payment_detail.html", {"payment": payment})


@login_required
def payment_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The live part of the payment page, polled until the receipt is ready."""
    payment = access.payment_for_user(_user(request), pk)
    return render(request, "refunds/_payment_status.html", {"payment": payment})


@login_required
def payment_receipt(request: HttpRequest, pk: int) -> FileResponse:
    payment = access.payment_for_user(_user(request), pk)
    return _attachment(payment.receipt, f"receipt-{payment.reference}.pdf")


@login_required
def statement_document(request: HttpRequest, pk: int) -> FileResponse:
    statement = access.statement_for_user(_user(request), pk)
    return _attachment(statement.document, f"statement-{statement.period:%Y-%m}.pdf")


@csrf_exempt  # a server-to-server callback, authenticated by its HMAC signature, not a session
@require_POST
def payment_webhook(request: HttpRequest) -> HttpResponse:
    try:
        outcome = payments.callback_receive(headers=request.headers, raw_body=request.body)
    except CallbackRefused as refused:
        return HttpResponse(str(refused), status=400, content_type="text/plain")
    return HttpResponse(outcome, content_type="text/plain")


@login_required
def refund_new(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    declaration = declaration_access.declaration_for_user(user, pk)
    form = RefundForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            refund = services.refund_request(
                declaration=declaration,
                reason=form.cleaned_data["reason"],
                amount=form.cleaned_data["amount"],
                return_tracking_number=form.cleaned_data["return_tracking_number"],
                explanation=form.cleaned_data["explanation"],
                evidence=form.cleaned_data["evidence"],
                actor=Actor(user=user),
            )
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            return redirect("refund_detail", refund.pk)
    context = {
        "form": form,
        "declaration": declaration,
        "refundable": amounts.amount_refundable(declaration),
        "currency": amounts.amount_due(declaration)[1],
    }
    return render(request, "refunds/refund_form.html", context)


def _timeline(refund: Refund) -> list[object]:
    return list(refund.history.select_related("history_user").order_by("history_date", "pk"))


@login_required
def refund_detail(request: HttpRequest, pk: int) -> HttpResponse:
    refund = access.refund_for_user(_user(request), pk)
    return render(
        request, "refunds/refund_detail.html", {"refund": refund, "timeline": _timeline(refund)}
    )


@login_required
def refund_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The live part of the refund page, polled while the refund moves."""
    refund = access.refund_for_user(_user(request), pk)
    return render(request, "refunds/_refund_status.html", {"refund": refund})


@login_required
def refund_receipt(request: HttpRequest, pk: int) -> FileResponse:
    refund = access.refund_for_user(_user(request), pk)
    return _attachment(refund.receipt, f"refund-{refund.pk}.pdf")


@login_required
def evidence_download(request: HttpRequest, pk: int) -> FileResponse:
    item = access.evidence_for_user(_user(request), pk)
    return _attachment(item.file, item.original_name, item.content_type)


@staff_required("officer", "supervisor")
def staff_refund_queue(request: HttpRequest) -> HttpResponse:
    open_refunds = (
        Refund.objects.filter(status__in=REFUND_AWAITING_DECISION)
        .select_related("organisation", "declaration")
        .order_by("requested_at", "id")
    )
    return render(request, "refunds/staff_queue.html", {"refunds": open_refunds})


@staff_required("officer", "supervisor")
def staff_refund_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    refund = access.refund_for_user(user, pk, officers=True)
    form = DecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        note = form.cleaned_data["note"]
        try:
            if "approve" in request.POST:
                services.refund_approve(refund_id=refund.pk, by=user, note=note)
                messages.success(request, _("Refund %(number)s approved.") % {"number": refund.pk})
            else:
                services.refund_reject(refund_id=refund.pk, by=user, note=note)
                messages.success(request, _("Refund %(number)s rejected.") % {"number": refund.pk})
        except ServiceError as error:
            form.add_error("note" if error.field == "note" else None, error.message)
        else:
            return redirect("staff_refund_queue")
    context = {
        "refund": refund,
        "form": form,
        "timeline": _timeline(refund),
        "paid": amounts.amount_paid(refund.declaration),
    }
    return render(request, "refunds/staff_refund.html", context)
