"""The editors' pages: the moderation queue, texts and their versions, consultations with their
themes and official response, and the comments of a consultation as CSV."""

import csv

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from clearance.access import staff_required
from clearance.errors import ServiceError
from clearance.spreadsheets import csv_cell
from publications import access, comments, consultations, forms, publishing
from publications.models import Comment, Consultation, Publication, Theme, Version


@staff_required("editor")
def moderation(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        target = get_object_or_404(Comment, pk=request.POST.get("comment"))
        form = forms.ModerationForm(request.POST)
        if form.is_valid():
            try:
                comments.comment_moderate(
                    comment=target,
                    approve=form.cleaned_data["decision"] == "approve",
                    by=access.editor(request),
                )
            except ServiceError as error:
                messages.error(request, error.message)
            else:
                messages.success(
                    request, _("Comment %(number)s updated.") % {"number": target.tracking_number}
                )
        return redirect("publications:moderation")
    queue = (
        Comment.objects.filter(
            Q(status=Comment.Status.PENDING) | Q(status=Comment.Status.PUBLISHED, flag_count__gt=0)
        )
        .select_related("consultation", "campaign")
        .prefetch_related("attachments", "flags")
        .order_by("-flag_count", "created_at")
    )
    return render(
        request,
        "publications/editor/moderation.html",
        {"page": Paginator(queue, 50).get_page(request.GET.get("page"))},
    )


@staff_required("editor")
def editor_consultation(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Consultation.objects.select_related("version__publication"), pk=pk)
    action = request.POST.get("action")
    theme_form = forms.ThemeForm(request.POST if action == "theme" else None, prefix="theme")
    response_form = forms.ResponseForm(
        request.POST if action == "response" else None,
        prefix="response",
        initial={"response": item.response},
    )
    publish_form = forms.PublishForm(
        request.POST if action == "publish" else None,
        prefix="publish",
        initial={"effective_date": item.earliest_effective_date()},
    )
    try:
        if _consultation_action(request, item, action, theme_form, response_form, publish_form):
            return redirect("publications:editor_consultation", pk)
    except ServiceError as error:
        form = publish_form if action == "publish" else theme_form
        form.add_error(error.field if error.field in form.fields else None, error.message)
    comments = item.comments.exclude(status=Comment.Status.UNCONFIRMED).select_related(
        "theme", "campaign"
    )
    candidates = Version.objects.filter(
        publication=item.version.publication,
        language=item.version.language,
        status__in=[Version.Status.DRAFT, Version.Status.PROPOSED],
    )
    return render(
        request,
        "publications/editor/consultation.html",
        {
            "consultation": item,
            "comments": comments,
            "themes": item.themes.all(),
            "theme_form": theme_form,
            "response_form": response_form,
            "publish_form": publish_form,
            "candidates": candidates,
        },
    )


def _consultation_action(
    request: HttpRequest,
    item: Consultation,
    action: str | None,
    theme_form: forms.ThemeForm,
    response_form: forms.ResponseForm,
    publish_form: forms.PublishForm,
) -> bool:
    """Carry out the editor's ``action`` on the consultation page; True when it is done and
    the page is shown again, False when a form needs correcting (or nothing was asked)."""
    by = access.editor(request)
    if action == "theme" and theme_form.is_valid():
        consultations.theme_create(consultation=item, title=theme_form.cleaned_data["title"], by=by)
        return True
    if action == "assign":
        target = get_object_or_404(item.comments, pk=request.POST.get("comment"))
        assign = forms.CommentThemeForm(request.POST, consultation=item)
        if assign.is_valid():
            consultations.comment_set_theme(
                comment=target, theme=assign.cleaned_data["theme"], by=by
            )
        return True
    if action == "answer":
        theme = get_object_or_404(Theme, consultation=item, pk=request.POST.get("theme"))
        consultations.theme_answer(theme=theme, answer=request.POST.get("answer", ""), by=by)
        return True
    if action == "response" and response_form.is_valid():
        consultations.consultation_set_response(
            consultation=item, response=response_form.cleaned_data["response"], by=by
        )
        messages.success(request, _("Response saved."))
        return True
    if action == "publish" and publish_form.is_valid():
        final = get_object_or_404(
            Version,
            pk=request.POST.get("version"),
            publication=item.version.publication,
            language=item.version.language,
            status__in=[Version.Status.DRAFT, Version.Status.PROPOSED],
        )
        publishing.version_publish(
            version=final, effective_date=publish_form.cleaned_data["effective_date"], by=by
        )
        messages.success(request, _("The final version is published."))
        return True
    return False


@staff_required("editor")
def export_comments(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Consultation, pk=pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="consultation-{item.pk}-comments.csv"'
    writer = csv.writer(response)
    writer.writerow(
        ["tracking_number", "status", "created_at", "name", "organisation", "section",
         "theme", "campaign", "flags", "comment"]
    )  # fmt: skip
    rows = (
        item.comments.exclude(status=Comment.Status.UNCONFIRMED)
        .select_related("theme")
        .order_by("pk")
    )
    for row in rows.iterator():
        writer.writerow(
            [
                csv_cell(v)
                for v in (
                    row.tracking_number,
                    row.status,
                    timezone.localtime(row.created_at).isoformat(),
                    row.name,
                    row.organisation_name,
                    row.section,
                    row.theme.title if row.theme else "",
                    row.campaign_id or "",
                    row.flag_count,
                    row.body,
                )
            ]
        )
    return response


@staff_required("editor")
def editor_texts(request: HttpRequest) -> HttpResponse:
    form = forms.PublicationForm(request.POST or None, prefix="publication")
    version_form = forms.VersionForm(request.POST or None, prefix="version")
    if request.method == "POST" and form.is_valid() and version_form.is_valid():
        by = access.editor(request)
        try:
            with transaction.atomic():
                created = publishing.publication_create(
                    slug=form.cleaned_data["slug"],
                    kind=form.cleaned_data["kind"],
                    topics=list(form.cleaned_data["topics"]),
                    by=by,
                )
                publishing.version_create(publication=created, by=by, **version_form.cleaned_data)
        except ServiceError as error:
            if error.field in version_form.fields:
                version_form.add_error(error.field, error.message)
            else:
                form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            return redirect("publications:editor_text", created.slug)
    texts = Publication.objects.annotate(
        drafts=Count("versions", filter=Q(versions__status__in=["draft", "proposed"])),
        live=Count("versions", filter=Q(versions__status="published")),
    ).order_by("slug")
    return render(
        request,
        "publications/editor/texts.html",
        {"texts": texts, "form": form, "version_form": version_form},
    )


@staff_required("editor")
def editor_text(request: HttpRequest, slug: str) -> HttpResponse:
    item = get_object_or_404(Publication, slug=slug)
    by = access.editor(request)
    action = request.POST.get("action")
    version_form = forms.VersionForm(
        request.POST if action == "version" else None, prefix="version"
    )
    publish_form = forms.PublishForm(
        request.POST if action == "publish" else None, prefix="publish"
    )
    consultation_form = forms.ConsultationForm(
        request.POST if action == "consult" else None, prefix="consult"
    )
    target = None
    if action in ("publish", "consult"):
        target = get_object_or_404(
            item.versions,
            pk=request.POST.get("version"),
            status__in=[Version.Status.DRAFT, Version.Status.PROPOSED],
        )
    try:
        if action == "version" and version_form.is_valid():
            publishing.version_create(publication=item, by=by, **version_form.cleaned_data)
            messages.success(request, _("Draft saved."))
            return redirect("publications:editor_text", slug)
        if action == "publish" and target is not None and publish_form.is_valid():
            publishing.version_publish(
                version=target, effective_date=publish_form.cleaned_data["effective_date"], by=by
            )
            messages.success(request, _("Published."))
            return redirect("publications:editor_text", slug)
        if action == "consult" and target is not None and consultation_form.is_valid():
            created = consultations.consultation_create(
                version=target, by=by, **consultation_form.cleaned_data
            )
            return redirect("publications:editor_consultation", created.pk)
    except ServiceError as error:
        form = {"publish": publish_form, "consult": consultation_form}.get(
            action or "", version_form
        )
        form.add_error(error.field if error.field in form.fields else None, error.message)
    versions = item.versions.select_related("author").order_by("language", "-number")
    return render(
        request,
        "publications/editor/text.html",
        {
            "publication": item,
            "versions": versions,
            "version_form": version_form,
            "publish_form": publish_form,
            "consultation_form": consultation_form,
            "action": action,
            "target": target,
        },
    )
