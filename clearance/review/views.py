"""Officer queues and case pages; the filer's answer to a question; release notices and the
public verification page.

Officer pages are ``staff_required("officer", "supervisor")``: anyone else gets 404. The
filer's pages go through ``declarations.access`` (404 for "not yours") and never show a score,
a rule or a reason: only the officer's question and the filer's own answer.
"""

import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from clearance.access import found_or_404, staff_required
from clearance.actors import Actor
from clearance.api import ApiView, Text
from clearance.errors import ServiceError
from clearance.models import Role, TransportMode, User
from clearance.review import release, services
from clearance.review.models import Decision, InfoRequest, Queue, ReleaseNotice, ReviewCase
from clearance.risk.models import RiskLane, RiskRule
from declarations import access, tasks
from declarations.api import ERROR
from declarations.document_api import BinaryField
from declarations.models import Declaration, DeclarationVersion, Document, Status

OFFICERS = (Role.OFFICER, Role.SUPERVISOR)


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


# --- Queues ---------------------------------------------------------------------------------


class QueueFilter(forms.Form):
    queue = forms.ChoiceField(label=gettext_lazy("Queue"), choices=Queue.choices, required=False)
    lane = forms.ChoiceField(
        label=gettext_lazy("Lane"),
        choices=[("", gettext_lazy("Any lane")), *RiskLane.choices],
        required=False,
    )
    office = forms.CharField(label=gettext_lazy("Arrival office"), required=False, max_length=50)
    transport_mode = forms.ChoiceField(
        label=gettext_lazy("Transport mode"),
        choices=[("", gettext_lazy("Any mode")), *TransportMode.choices],
        required=False,
    )
    older_than = forms.IntegerField(
        label=gettext_lazy("Waiting at least (hours)"), min_value=0, required=False
    )
    rule = forms.ModelChoiceField(
        label=gettext_lazy("Rule hit"),
        queryset=RiskRule.objects.all(),
        required=False,
        empty_label=gettext_lazy("Any rule"),
    )


@staff_required(*OFFICERS)
def queue(request: HttpRequest) -> HttpResponse:
    """Open cases, highest score first, then the longest waiting."""
    filters = QueueFilter(request.GET or None)
    cases = ReviewCase.objects.open().select_related("declaration", "claimed_by")
    if filters.is_valid():
        data = filters.cleaned_data
        if data["queue"]:
            cases = cases.filter(queue=data["queue"])
        if data["lane"]:
            cases = cases.filter(declaration__lane=data["lane"])
        if data["office"]:
            cases = cases.filter(declaration__arrival_office__iexact=data["office"].strip())
        if data["transport_mode"]:
            cases = cases.filter(declaration__transport_mode=data["transport_mode"])
        if data["older_than"]:
            since = timezone.now() - datetime.timedelta(hours=data["older_than"])
            cases = cases.filter(declaration__submitted_at__lte=since)
        if data["rule"]:
            cases = cases.filter(
                declaration__risk_scores__version=F("declaration__version"),
                declaration__risk_scores__hits__contains=[{"rule": data["rule"].pk}],
            )
    cases = cases.order_by("-points", "declaration__submitted_at", "pk")
    page = Paginator(cases, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "review/queue.html",
        {"filters": filters, "page": page, "query": query.urlencode(), "now": timezone.now()},
    )


@staff_required(*OFFICERS)
def held(request: HttpRequest) -> HttpResponse:
    """Declarations held because no regime or exchange rate was in force on their date: each
    with its reason in words, oldest first. They are assessed again by themselves when what
    they wait for arrives; an officer may ask for that at once (after importing rates, say)."""
    if request.method == "POST":
        moved = tasks.reassess_held()
        messages.success(
            request,
            ngettext(
                "%(n)d held declaration was assessed and sent to risk scoring.",
                "%(n)d held declarations were assessed and sent to risk scoring.",
                moved,
            )
            % {"n": moved},
        )
        return redirect("review_held")
    waiting = (
        Declaration.objects.filter(status=Status.HELD)
        .select_related("organisation")
        .order_by("submitted_at", "pk")
    )
    page = Paginator(waiting, 50).get_page(request.GET.get("page"))
    reasons = dict(
        DeclarationVersion.objects.filter(
            declaration__in=list(page.object_list), number=F("declaration__version")
        ).values_list("declaration_id", "assessment__hold_reason")
    )
    rows = [(declaration, reasons.get(declaration.pk, "")) for declaration in page]
    return render(
        request,
        "review/held.html",
        {"page": page, "rows": rows, "now": timezone.now()},
    )


# --- A case ---------------------------------------------------------------------------------


class InfoRequestForm(forms.Form):
    question = forms.CharField(
        label=gettext_lazy("Question for the filer"), widget=forms.Textarea, max_length=2000
    )
    due_on = forms.DateField(
        label=gettext_lazy("Answer by"),
        help_text=gettext_lazy("A date, for example 2026-05-31."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"), widget=forms.Textarea, max_length=2000, required=False
    )


class InspectionForm(forms.Form):
    result = forms.ChoiceField(
        label=gettext_lazy("Result"),
        choices=[
            ("compliant", gettext_lazy("Compliant")),
            ("discrepancy", gettext_lazy("Discrepancy")),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=gettext_lazy("What was found"), widget=forms.Textarea, required=False
    )


def _officer_declaration(pk: int) -> Declaration:
    """Officers see every declaration: the pages are already limited to officers."""
    return found_or_404(Declaration.objects.select_related("organisation"), pk=pk)


@staff_required(*OFFICERS)
def case(request: HttpRequest, pk: int) -> HttpResponse:
    declaration = _officer_declaration(pk)
    version = declaration.latest_version if declaration.version else None
    score = declaration.risk_scores.filter(version=declaration.version).first()
    earlier = (
        Declaration.objects.filter(organisation_id=declaration.organisation_id)
        .exclude(pk=declaration.pk)
        .exclude(status=Status.DRAFT)
        .order_by("-submitted_at")[:10]
    )
    user = _user(request)
    return render(
        request,
        "review/case.html",
        {
            "declaration": declaration,
            "case": ReviewCase.objects.filter(declaration=declaration)
            .select_related("claimed_by")
            .first(),
            "version": version,
            "lines": declaration.lines.order_by("number"),
            "score": score,
            "documents": declaration.documents.all(),
            "earlier": earlier,
            "decisions": declaration.decisions.select_related("by", "reverses"),
            "requests": declaration.info_requests.select_related("asked_by"),
            "info_form": InfoRequestForm(),
            "reason_form": ReasonForm(),
            "inspection_form": InspectionForm(),
            "is_supervisor": user.has_role(Role.SUPERVISOR),
            "reversible": set(services.REVERSIBLE),
        },
    )


def _run(request: HttpRequest, pk: int, act: Any, done: str) -> HttpResponse:
    try:
        act()
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect("review_case", pk=pk)


@staff_required(*OFFICERS)
@require_POST
def case_claim(request: HttpRequest, pk: int) -> HttpResponse:
    found = found_or_404(ReviewCase.objects.all(), declaration_id=pk)
    return _run(
        request,
        pk,
        lambda: services.case_claim(case=found, by=_user(request)),
        _("You hold this case."),
    )


@staff_required(*OFFICERS)
@require_POST
def case_unclaim(request: HttpRequest, pk: int) -> HttpResponse:
    found = found_or_404(ReviewCase.objects.all(), declaration_id=pk)
    return _run(
        request,
        pk,
        lambda: services.case_unclaim(case=found, by=_user(request)),
        _("The case is back in its queue."),
    )


@staff_required(*OFFICERS)
@require_POST
def case_request_info(request: HttpRequest, pk: int) -> HttpResponse:
    declaration = _officer_declaration(pk)
    form = InfoRequestForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{form.fields[field].label}: {' '.join(map(str, errors))}")
        return redirect("review_case", pk=pk)
    return _run(
        request,
        pk,
        lambda: services.info_request(
            declaration=declaration,
            question=form.cleaned_data["question"],
            due_on=form.cleaned_data["due_on"],
            by=_user(request),
        ),
        _("The filer has been asked."),
    )


DECISIONS = {
    "release": (
        lambda d, by, reason: services.decision_release(declaration=d, by=by, reason=reason)
    ),
    "reject": (lambda d, by, reason: services.decision_reject(declaration=d, by=by, reason=reason)),
    "seize": (lambda d, by, reason: services.decision_seize(declaration=d, by=by, reason=reason)),
    "refer": (lambda d, by, reason: services.decision_refer(declaration=d, by=by, agency=reason)),
}


@staff_required(*OFFICERS)
@require_POST
def case_decide(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in DECISIONS:
        raise Http404
    declaration = _officer_declaration(pk)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _run(
        request,
        pk,
        lambda: DECISIONS[action](declaration, _user(request), reason),
        _("Decision recorded."),
    )


@staff_required(*OFFICERS)
@require_POST
def case_inspection(request: HttpRequest, pk: int) -> HttpResponse:
    declaration = _officer_declaration(pk)
    form = InspectionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the result of the inspection."))
        return redirect("review_case", pk=pk)
    corrections: dict[int, dict[str, str]] = {}
    for key in request.POST:
        value = request.POST.get(key, "")
        parts = key.split("-")
        if len(parts) == 3 and parts[0] == "line" and parts[1].isdigit() and value.strip():
            corrections.setdefault(int(parts[1]), {})[parts[2]] = value
    return _run(
        request,
        pk,
        lambda: services.decision_inspection(
            declaration=declaration,
            by=_user(request),
            compliant=form.cleaned_data["result"] == "compliant",
            note=form.cleaned_data["note"],
            corrections=corrections,
        ),
        _("Inspection result recorded."),
    )


@staff_required(Role.SUPERVISOR)
@require_POST
def decision_reverse(request: HttpRequest, pk: int) -> HttpResponse:
    decision = found_or_404(Decision.objects.all(), pk=pk)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _run(
        request,
        decision.declaration_id,
        lambda: services.decision_reverse(decision=decision, by=_user(request), reason=reason),
        _("Decision reversed; the case is open again."),
    )


# --- The filer's answer ---------------------------------------------------------------------


class AnswerForm(forms.Form):
    answer = forms.CharField(label=gettext_lazy("Your answer"), widget=forms.Textarea)
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind of document"), choices=Document.Kind.choices, required=False
    )
    file = forms.FileField(
        label=gettext_lazy("Document"),
        help_text=gettext_lazy("PDF, JPEG or PNG, at most 10 MB."),
        required=False,
    )


@login_required
def info_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """The filer reads the officer's question and answers it, with a document if needed."""
    user = _user(request)
    declaration = access.declaration_for_user(user, pk)
    pending = services.open_request(declaration)
    form = AnswerForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and pending is not None and form.is_valid():
        upload = form.cleaned_data["file"]
        documents = [(form.cleaned_data["kind"] or Document.Kind.OTHER, upload)] if upload else []
        try:
            services.info_answer(
                declaration=declaration,
                answer=form.cleaned_data["answer"],
                documents=documents,
                actor=Actor(user=user),
            )
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("Your answer has been sent."))
            return redirect("declaration_detail", pk=pk)
    return render(
        request,
        "review/answer.html",
        {
            "declaration": declaration,
            "pending": pending,
            "answered": declaration.info_requests.filter(answered_at__isnull=False),
            "form": form,
        },
    )


class InfoRequestOut(serializers.Serializer[dict[str, Any]]):
    question = serializers.CharField()
    due_on = serializers.DateField()
    asked_at = serializers.DateTimeField()
    answer = serializers.CharField()
    answered_at = serializers.DateTimeField(allow_null=True)


def _request_out(found: InfoRequest) -> dict[str, Any]:
    return dict(
        InfoRequestOut(
            {
                "question": found.question,
                "due_on": found.due_on,
                "asked_at": found.asked_at,
                "answer": found.answer,
                "answered_at": found.answered_at,
            }
        ).data
    )


class AnswerSerializer(serializers.Serializer[dict[str, Any]]):
    answer = Text(help_text="The answer to the open question.")
    documents = serializers.ListField(
        child=BinaryField(), required=False, help_text="PDF, JPEG or PNG files."
    )
    kind = serializers.ChoiceField(
        choices=Document.Kind.choices, required=False, help_text="The documents' kind; other."
    )


class InfoRequestApiView(ApiView):
    """The questions an officer asked about a declaration, and the answer to the open one.

    The answer is multipart, the one encoding that carries documents (a generated client takes
    one content type per operation). Its shape is checked first (400 by field); an answer with
    no question open, or a document the rules refuse, is a 422."""

    parser_classes = [MultiPartParser]

    @extend_schema(responses={200: InfoRequestOut(many=True)}, summary="Questions asked")
    def get(self, request: Request, pk: int) -> Response:
        declaration = access.declaration_for_organisation(self.organisation(), pk)
        return Response([_request_out(r) for r in declaration.info_requests.all()])

    @extend_schema(
        request={"multipart/form-data": AnswerSerializer},
        responses={
            200: InfoRequestOut,
            422: OpenApiResponse(
                ERROR, description="No question is open, or a document was refused."
            ),
        },
        summary="Answer the open question (text, and documents as files)",
    )
    def post(self, request: Request, pk: int) -> Response:
        declaration = access.declaration_for_organisation(self.organisation(), pk)
        sent: Any = request.data
        given = AnswerSerializer(
            data={
                **{k: sent[k] for k in ("answer", "kind") if k in sent},
                "documents": request.FILES.getlist("documents"),
            }
        )
        given.is_valid(raise_exception=True)
        values = given.validated_data
        kind = str(values.get("kind") or Document.Kind.OTHER)
        answered = services.info_answer(
            declaration=declaration,
            answer=values["answer"],
            documents=[(kind, f) for f in values["documents"]],
            actor=self.actor(),
        )
        return Response(_request_out(answered))


# --- Release notices ------------------------------------------------------------------------


@login_required
def release_notice(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The filer's release notice; a worker renders it the first time it is asked for."""
    declaration = access.declaration_for_user(_user(request), pk, officers=True)
    if declaration.status != Status.RELEASED:
        raise Http404
    notice = ReleaseNotice.objects.filter(declaration=declaration).first()
    if notice is None or not notice.file:
        services.release_notice_request(declaration=declaration)
        response = render(request, "review/notice_pending.html", {"declaration": declaration})
        response.status_code = 202
        return response
    return FileResponse(
        notice.file.open("rb"),
        as_attachment=True,
        filename=f"release-notice-{declaration.system_reference}.pdf",
        content_type="application/pdf",
    )


def verify(request: HttpRequest, code: str) -> HttpResponse:
    """Public: is this a genuine release notice? Only the minimum is shown."""
    normal = release.normalise_code(code)
    notice = (
        ReleaseNotice.objects.select_related("declaration")
        .filter(code=normal, declaration__status=Status.RELEASED)
        .first()
        if normal
        else None
    )
    response = render(request, "review/verify.html", {"notice": notice, "code": code})
    if notice is None:
        response.status_code = 404
    return response
