"""Filing in the browser: the dashboard, the filing form, a declaration's page and API keys.

Every page works without JavaScript; htmx only swaps the item lines and the HS lookup results
in place, from the same views.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clearance import reference
from clearance.access import organisations_of
from clearance.actors import Actor
from clearance.errors import FieldError, Invalid, ServiceError
from clearance.models import ApiKey, Organisation, User
from clearance.services import apikey_create, apikey_revoke
from declarations import access, csvfiles, selectors, services
from declarations.forms import (
    ApiKeyForm,
    CsvUploadForm,
    DeclarationFilter,
    DeclarationForm,
    DocumentForm,
    LineFormSet,
)
from declarations.models import CsvUpload, Declaration, Status


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _filing_organisation(user: User) -> Organisation:
    """The organisation a person files for: their first by name (404 for none)."""
    membership = (
        user.memberships.select_related("organisation").order_by("organisation__name").first()
    )
    if membership is None:
        raise Http404
    return membership.organisation


@login_required
def declaration_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    queryset = Declaration.objects.of(organisations_of(user))
    filters = DeclarationFilter(request.GET or None)
    if filters.is_valid():
        queryset = queryset.search(filters.cleaned_data["q"])
        if filters.cleaned_data["status"]:
            queryset = queryset.filter(status=filters.cleaned_data["status"])
    page = Paginator(queryset.select_related("organisation"), 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "declarations/list.html",
        {"page": page, "filters": filters, "query": query.urlencode()},
    )


# --- The filing form -------------------------------------------------------------------------


class Filing:
    """The header form and the line formset of one filing page, and what they say."""

    def __init__(self, request: HttpRequest, data: dict[str, Any] | None = None) -> None:
        if request.method == "POST":
            self.form = DeclarationForm(request.POST)
            self.lines = LineFormSet(request.POST, prefix="lines")
        else:
            data = data or {}
            self.form = DeclarationForm(initial=DeclarationForm.initial_from(data))
            initial = data.get("lines") or [{}]
            self.lines = LineFormSet(initial=initial, prefix="lines")
        self.errors: list[tuple[str, str, str]] = []  # (anchor, label, message)
        self.line_index: list[int] = []  # for each line sent, its form in the formset

    def data(self) -> dict[str, Any]:
        self.form.is_valid()
        self.lines.is_valid()
        data = self.form.to_data()
        data["lines"] = []
        self.line_index = []
        for index, line in enumerate(self.lines.forms):
            if line.is_valid() and not line.is_blank():
                data["lines"].append(line.to_data())
                self.line_index.append(index)
        return data

    def line_rows(self) -> list[dict[str, Any]]:
        self.lines.is_valid()
        return [f.to_data() if f.is_valid() else {} for f in self.lines.forms]

    def rebuild(self, rows: list[dict[str, Any]]) -> None:
        """Show these lines instead of the posted ones (after adding or removing one)."""
        self.lines = LineFormSet(initial=rows or [{}], prefix="lines")

    def show(self, errors: list[FieldError]) -> None:
        for error in errors:
            self._show(error)

    def _show(self, error: FieldError) -> None:
        path = error.field
        if path.startswith("lines["):
            index_text, _sep, name = path[len("lines[") :].partition("].")
            index = int(index_text.rstrip("]"))
            form_index = self.line_index[index] if index < len(self.line_index) else 0
            line = self.lines.forms[form_index] if self.lines.forms else None
            if line is not None and name in line.fields:
                line.add_error(name, error.message)
                label = _("Line %(n)d: %(field)s") % {
                    "n": form_index + 1,
                    "field": line.fields[name].label,
                }
                self.errors.append((line[name].auto_id, label, error.message))
                return
        field = DeclarationForm.field_for(path)
        if field is not None:
            self.form.add_error(field, error.message)
            self.errors.append(
                (self.form[field].auto_id, str(self.form.fields[field].label), error.message)
            )
        else:
            self.form.add_error(None, error.message)
            self.errors.append(("", "", error.message))


def _filing_page(
    request: HttpRequest,
    filing: Filing,
    declaration: Declaration | None,
    hs_results: list[reference.HSEntry] | None = None,
    hs_query: str = "",
) -> HttpResponse:
    context = {
        "filing": filing,
        "form": filing.form,
        "lines": filing.lines,
        "declaration": declaration,
        "amending": declaration is not None and declaration.status != Status.DRAFT,
        "hs_results": hs_results,
        "hs_query": hs_query,
    }
    action = request.POST.get("action", "")
    if getattr(request, "htmx", False) and action == "lookup":
        return render(request, "declarations/form.html#hs-results", context)
    if getattr(request, "htmx", False) and (action == "add" or action.startswith("remove-")):
        return render(request, "declarations/form.html#lines", context)
    status = 422 if filing.errors else 200
    return render(request, "declarations/form.html", context, status=status)


def _handle_filing(request: HttpRequest, declaration: Declaration | None) -> HttpResponse:
    user = _user(request)
    actor = Actor(user=user)
    if request.method != "POST":
        data = None
        if declaration is not None:
            data = selectors.declaration_data(declaration, list(declaration.lines.all()))
        return _filing_page(request, Filing(request, data), declaration)

    filing = Filing(request)
    action = request.POST.get("action", "save")
    if action == "lookup":
        query = request.POST.get("hs_query", "").strip()
        results = reference.hs_search(query, limit=10) if query else []
        return _filing_page(request, filing, declaration, results, query)
    if action == "add":
        filing.rebuild([*filing.line_rows(), {"unit": "pcs"}])
        return _filing_page(request, filing, declaration)
    if action.startswith("remove-"):
        rows = filing.line_rows()
        index = int(action.removeprefix("remove-")) if action[7:].isdigit() else -1
        if 0 <= index < len(rows):
            del rows[index]
        filing.rebuild(rows)
        return _filing_page(request, filing, declaration)

    data = filing.data()
    try:
        if declaration is None:
            organisation = _filing_organisation(user)
            declaration = services.declaration_create(
                organisation=organisation, data=data, submit=action == "submit", actor=actor
            )
        elif declaration.status == Status.DRAFT:
            declaration = services.declaration_update(
                declaration=declaration, data=data, actor=actor
            )
            if action == "submit":
                declaration = services.declaration_submit(declaration=declaration, actor=actor)
        else:
            declaration = services.declaration_amend(
                declaration=declaration, data=data, actor=actor
            )
    except Invalid as invalid:
        filing.show(invalid.errors)
        return _filing_page(request, filing, declaration)
    except ServiceError as error:
        filing.show([FieldError(error.field or "", error.code, error.message)])
        return _filing_page(request, filing, declaration)
    if declaration.status == Status.DRAFT:
        messages.success(request, _("Draft %(ref)s saved.") % {"ref": declaration.reference})
    else:
        messages.success(
            request,
            _("Declaration %(ref)s submitted as version %(n)d.")
            % {"ref": declaration.system_reference, "n": declaration.version},
        )
    return redirect("declaration_detail", pk=declaration.pk)


@login_required
def declaration_new(request: HttpRequest) -> HttpResponse:
    _filing_organisation(_user(request))
    return _handle_filing(request, None)


@login_required
def declaration_edit(request: HttpRequest, pk: int) -> HttpResponse:
    declaration = access.declaration_for_user(_user(request), pk)
    if not declaration.is_editable:
        messages.error(request, _("This declaration can no longer be changed."))
        return redirect("declaration_detail", pk=pk)
    return _handle_filing(request, declaration)


@login_required
def hs_lookup(request: HttpRequest) -> HttpResponse:
    """HS codes by words, as a page of its own (the filing form has its own lookup too)."""
    query = request.GET.get("q", "").strip()
    results = reference.hs_search(query, limit=20) if query else []
    return render(request, "declarations/hs_lookup.html", {"query": query, "results": results})


# --- One declaration ---------------------------------------------------------------------


@login_required
def declaration_detail(request: HttpRequest, pk: int) -> HttpResponse:
    declaration = access.declaration_for_user(_user(request), pk, officers=True)
    version = declaration.latest_version if declaration.version else None
    return render(
        request,
        "declarations/detail.html",
        {
            "declaration": declaration,
            "lines": declaration.lines.order_by("number"),
            "version": version,
            "changes": declaration.status_changes.select_related("by", "by_key"),
            "documents": declaration.documents.all(),
            "document_form": DocumentForm(),
            "is_filer": declaration.organisation_id in organisations_of(_user(request)),
        },
    )


def _act(request: HttpRequest, pk: int, act: Any, done: str) -> HttpResponse:
    user = _user(request)
    declaration = access.declaration_for_user(user, pk)
    try:
        result = act(declaration=declaration, actor=Actor(user=user))
    except Invalid as invalid:
        for error in invalid.errors:
            messages.error(request, f"{error.field}: {error.message}")
        return redirect("declaration_edit", pk=pk)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("declaration_detail", pk=pk)
    messages.success(request, done)
    return redirect("declaration_detail", pk=result.pk)


@login_required
@require_POST
def declaration_submit(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, services.declaration_submit, _("Declaration submitted."))


@login_required
@require_POST
def declaration_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, services.declaration_cancel, _("Declaration cancelled."))


@login_required
@require_POST
def declaration_copy(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    source = access.declaration_for_user(user, pk)
    copy = services.declaration_copy(source=source, actor=Actor(user=user))
    messages.success(
        request,
        _("Copied to a new draft, %(ref)s. Check it and change what differs.")
        % {"ref": copy.reference},
    )
    return redirect("declaration_edit", pk=copy.pk)


# --- API keys ------------------------------------------------------------------------------


@login_required
def api_keys(request: HttpRequest) -> HttpResponse:
    """The owner of an organisation makes and revokes its API keys; a new key is shown once."""
    user = _user(request)
    organisation = access.owned_organisation(user)
    form = ApiKeyForm(request.POST or None)
    new_key = ""
    if request.method == "POST" and form.is_valid():
        _api_key, new_key = apikey_create(
            organisation=organisation, name=form.cleaned_data["name"], by=user
        )
        form = ApiKeyForm()
    return render(
        request,
        "declarations/api_keys.html",
        {
            "organisation": organisation,
            "keys": ApiKey.objects.filter(organisation=organisation),
            "form": form,
            "new_key": new_key,
        },
    )


@login_required
@require_POST
def api_key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    organisation = access.owned_organisation(user)
    api_key = ApiKey.objects.filter(organisation=organisation, pk=pk).first()
    if api_key is None:
        raise Http404
    apikey_revoke(api_key=api_key, by=user)
    messages.success(request, _("Key %(name)s revoked.") % {"name": api_key.name})
    return redirect("api_keys")


# --- Documents ------------------------------------------------------------------------------


@login_required
@require_POST
def document_upload(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    declaration = access.declaration_for_user(user, pk)
    form = DocumentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.document_add(
                declaration=declaration,
                kind=form.cleaned_data["kind"],
                upload=form.cleaned_data["file"],
                actor=Actor(user=user),
            )
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Document added."))
    else:
        for problems in form.errors.values():
            for problem in problems:
                messages.error(request, str(problem))
    return redirect("declaration_detail", pk=pk)


@login_required
def document_download(request: HttpRequest, pk: int) -> FileResponse:
    """Served as an attachment with its checked type, never shown inline."""
    document = access.document_for_user(_user(request), pk)
    return FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=document.original_name,
        content_type=document.content_type,
    )


# --- CSV files ------------------------------------------------------------------------------


@login_required
def csv_upload(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    organisation = _filing_organisation(user)
    form = CsvUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            upload = csvfiles.upload_create(
                organisation=organisation, file=form.cleaned_data["file"], by=user, api_key=None
            )
        except ServiceError as error:
            form.add_error("file", error.message)
        else:
            csvfiles.upload_start(upload)
            return redirect("csv_upload_detail", pk=upload.pk)
    return render(request, "declarations/csv_upload.html", {"form": form})


@login_required
def csv_upload_detail(request: HttpRequest, pk: int) -> HttpResponse:
    upload = access.upload_for_user(_user(request), pk)
    busy = upload.state in (CsvUpload.State.CHECKING, CsvUpload.State.IMPORTING)
    context = {
        "upload": upload,
        "busy": busy,
        "rows_done": csvfiles.progress_rows(upload),
        "percent": csvfiles.progress_percent(upload),
        "errors": upload.errors[:200],
    }
    if getattr(request, "htmx", False):
        if not busy:
            # The work is done: load the whole page, with its errors and choices.
            response = HttpResponse(status=204)
            response["HX-Refresh"] = "true"
            return response
        return render(request, "declarations/csv_upload_detail.html#progress", context)
    return render(request, "declarations/csv_upload_detail.html", context)


@login_required
@require_POST
def csv_upload_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    upload = access.upload_for_user(user, pk)
    try:
        upload = csvfiles.upload_confirm(
            upload=upload, only_valid=request.POST.get("only_valid") == "1", actor=Actor(user=user)
        )
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("csv_upload_detail", pk=pk)
    csvfiles.upload_import_start(upload)
    return redirect("csv_upload_detail", pk=pk)


@login_required
def csv_upload_errors(request: HttpRequest, pk: int) -> HttpResponse:
    upload = access.upload_for_user(_user(request), pk)
    response = HttpResponse(csvfiles.error_report(upload), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="errors-{upload.pk}.csv"'
    return response


def csv_template(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(csvfiles.template(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="declarations-template.csv"'
    return response
