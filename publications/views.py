import csv
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Prefetch, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from clearance.access import staff_required
from clearance.errors import ServiceError
from clearance.models import User
from publications import forms, markdown, services
from publications.models import (
    MARK_START,
    MARK_STOP,
    Attachment,
    Comment,
    Consultation,
    Publication,
    Theme,
    Version,
)

# --- Access helpers: one per object type; "missing" and "not public" are the same 404 ----------


def public_publication(slug: str) -> Publication:
    publication = Publication.objects.filter(slug=slug).first()
    if publication is None or not publication.versions.public().exists():
        raise Http404
    return publication


def viewable_version(publication: Publication, pk: int) -> Version:
    """A version the public may read: published once, or out for consultation."""
    version = (
        Version.objects.filter(publication=publication, pk=pk)
        .filter(
            Q(status__in=[Version.Status.PUBLISHED, Version.Status.SUPERSEDED])
            | Q(consultation__status__in=["open", "closed", "concluded"])
        )
        .first()
    )
    if version is None:
        raise Http404
    return version


def public_consultation(pk: int) -> Consultation:
    return get_object_or_404(Consultation.objects.select_related("version__publication"), pk=pk)


def public_comment(tracking_number: str) -> Comment:
    return get_object_or_404(
        Comment.objects.published().select_related("consultation"),
        tracking_number=tracking_number,
    )


def _language() -> str:
    language = get_language() or settings.LANGUAGE_CODE
    return language.split("-")[0]


def _user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _address(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", ""))


def _current(publication: Publication, language: str) -> Version | None:
    """The current text in the reader's language, else in the portal's, else in any."""
    current = publication.versions.current()
    return (
        current.filter(language=language).first()
        or current.filter(language=settings.LANGUAGE_CODE).first()
        or current.first()
    )


# --- Public pages -----------------------------------------------------------------------------


def index(request: HttpRequest) -> HttpResponse:
    language = _language()
    form = forms.SearchForm(request.GET or None)
    versions = Version.objects.current().select_related("publication")
    if form.is_bound and form.is_valid():
        if form.cleaned_data["kind"]:
            versions = versions.filter(publication__kind=form.cleaned_data["kind"])
        if form.cleaned_data["topic"]:
            versions = versions.filter(publication__topics=form.cleaned_data["topic"])
    # One row per publication, in the reader's language where there is one.
    chosen: dict[int, Version] = {}
    for version in versions.order_by("publication__slug", "pk"):
        kept = chosen.get(version.publication_id)
        if kept is None or (version.language == language and kept.language != language):
            chosen[version.publication_id] = version
    consultations = Consultation.objects.filter(status=Consultation.Status.OPEN).order_by(
        "closes_at"
    )
    return render(
        request,
        "publications/index.html",
        {"versions": sorted(chosen.values(), key=lambda v: v.title), "form": form,
         "consultations": consultations},
    )  # fmt: skip


def detail(request: HttpRequest, slug: str) -> HttpResponse:
    publication = public_publication(slug)
    language = _language()
    in_force_form = forms.InForceForm(request.GET if "on" in request.GET else None)
    on: date | None = None
    if in_force_form.is_bound and in_force_form.is_valid():
        on = in_force_form.cleaned_data["on"]
    if on is not None:
        languages = publication.languages()
        shown_language = language if language in languages else languages[0]
        version = publication.in_force(on=on, language=shown_language)
    else:
        version = _current(publication, language)
    consultations = Consultation.objects.filter(version__publication=publication).exclude(
        status=Consultation.Status.UPCOMING
    )
    return render(
        request,
        "publications/detail.html",
        {
            "publication": publication,
            "version": version,
            "on": on,
            "in_force_form": in_force_form,
            "consultations": consultations,
            "translations": publication.versions.current().exclude(pk=version.pk if version else 0),
        },
    )


def version_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    publication = public_publication(slug)
    version = viewable_version(publication, pk)
    return render(
        request,
        "publications/version.html",
        {"publication": publication, "version": version},
    )


def history(request: HttpRequest, slug: str) -> HttpResponse:
    publication = public_publication(slug)
    versions = (
        publication.versions.public()
        .select_related("author")
        .order_by("language", "-effective_date", "-number")
    )
    return render(
        request,
        "publications/history.html",
        {"publication": publication, "versions": versions},
    )


def diff(request: HttpRequest, slug: str) -> HttpResponse:
    publication = public_publication(slug)
    try:
        old_pk, new_pk = int(request.GET["from"]), int(request.GET["to"])
    except (KeyError, ValueError):
        messages.error(request, _("Choose two versions to compare."))
        return redirect("publications:history", slug)
    old = viewable_version(publication, old_pk)
    new = viewable_version(publication, new_pk)
    lines = markdown.diff(old.filled_body(), new.filled_body())
    return render(
        request,
        "publications/diff.html",
        {
            "publication": publication,
            "old": old,
            "new": new,
            "pair": (old, new),
            "lines": lines,
            "added": sum(1 for line in lines if line.kind == "added"),
            "removed": sum(1 for line in lines if line.kind == "removed"),
        },
    )


def _highlight(snippet: str) -> SafeString:
    """Escape a search snippet, then turn the hit markers into ``<mark>``."""
    text = str(escape(snippet))
    return mark_safe(  # noqa: S308 - escaped above; only our own tags are added
        text.replace(MARK_START, "<mark>").replace(MARK_STOP, "</mark>")
    )


def search(request: HttpRequest) -> HttpResponse:
    form = forms.SearchForm(request.GET or None)
    page = None
    if form.is_bound and form.is_valid() and form.cleaned_data["q"].strip():
        data = form.cleaned_data
        found = Version.objects.search(data["q"], language=data["language"] or "").select_related(
            "publication"
        )
        if data["kind"]:
            found = found.filter(publication__kind=data["kind"])
        if data["topic"]:
            found = found.filter(publication__topics=data["topic"])
        if data["since"]:
            found = found.filter(effective_date__gte=data["since"])
        page = Paginator(found, 20).get_page(request.GET.get("page"))
        for version in page:
            version.highlighted = _highlight(version.snippet)  # type: ignore[attr-defined]
    return render(request, "publications/search.html", {"form": form, "page": page})


def consultations(request: HttpRequest) -> HttpResponse:
    items = Consultation.objects.select_related("version__publication").order_by(
        "status", "-closes_at"
    )
    return render(request, "publications/consultations.html", {"consultations": items})


def consultation(request: HttpRequest, pk: int) -> HttpResponse:
    item = public_consultation(pk)
    sections = dict(item.version.sections())
    published = list(
        item.comments.published()
        .select_related("campaign", "theme")
        .prefetch_related("attachments")
    )
    for shown in published:
        shown.section_title = sections.get(shown.section, "")  # type: ignore[attr-defined]
    body = None
    if item.status != Consultation.Status.UPCOMING:
        if item.is_open:
            url = reverse("publications:comment", args=[item.pk])
            body = markdown.with_section_links(
                item.version.body_html,
                lambda anchor: f"{url}?section={anchor}",
                _("Comment on this section"),
            )
        else:
            body = item.version.body_html
    campaigns = (
        item.campaigns.annotate(
            size=Count("comments", filter=Q(comments__status=Comment.Status.PUBLISHED))
        )
        .filter(size__gt=1)
        .order_by("-size")
    )
    themes = item.themes.prefetch_related(
        Prefetch("comments", queryset=Comment.objects.published(), to_attr="published_comments")
    )
    in_force = None
    if item.final_version_id is None:
        in_force = (
            Version.objects.current()
            .filter(publication_id=item.version.publication_id, language=item.version.language)
            .first()
        )
    return render(
        request,
        "publications/consultation.html",
        {
            "consultation": item,
            "in_force": in_force,
            "body": mark_safe(body) if body else None,  # noqa: S308 - sanitised by nh3
            "comments": published,
            "campaigns": campaigns,
            "themes": themes,
        },
    )


# The comment form's trap field: hidden from people, filled in by bots that fill every field.
HONEYPOT = "website"


def comment(request: HttpRequest, pk: int) -> HttpResponse:
    item = public_consultation(pk)
    if not item.is_open:
        raise Http404
    user = _user(request)
    form = forms.CommentForm(
        request.POST or None,
        request.FILES or None,
        consultation=item,
        signed_in=user is not None,
        initial={"section": request.GET.get("section", "")},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.comment_submit(
                consultation=item,
                body=data["body"],
                name=data.get("name", ""),
                email=data.get("email", ""),
                user=user,
                address=_address(request),
                section=data["section"],
                on_behalf=data["on_behalf"],
                organisation_name=data["organisation_name"],
                attachment=data["attachment"],
                honeypot=request.POST.get(HONEYPOT, ""),
                language=_language(),
            )
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            request.session["publications_comment"] = created.tracking_number
            return redirect("publications:comment_submitted", item.pk)
    section = dict(item.version.sections()).get(request.GET.get("section", ""))
    return render(
        request,
        "publications/comment_form.html",
        {"consultation": item, "form": form, "section": section},
    )


def comment_submitted(request: HttpRequest, pk: int) -> HttpResponse:
    item = public_consultation(pk)
    tracking = request.session.get("publications_comment")
    made = Comment.objects.filter(consultation=item, tracking_number=tracking).first()
    if made is None:
        raise Http404
    return render(
        request, "publications/comment_submitted.html", {"consultation": item, "comment": made}
    )


def comment_confirm(request: HttpRequest, token: str) -> HttpResponse:
    # A GET only shows a button: mail scanners that open links must not confirm for people.
    if request.method == "POST":
        try:
            confirmed = services.comment_confirm(token=token)
        except ServiceError as error:
            return render(
                request, "publications/link_error.html", {"message": error.message}, status=400
            )
        return render(request, "publications/comment_confirmed.html", {"comment": confirmed})
    return render(request, "publications/comment_confirm.html", {"token": token})


@require_POST
def comment_flag(request: HttpRequest, tracking_number: str) -> HttpResponse:
    target = public_comment(tracking_number)
    form = forms.FlagForm(request.POST)
    if form.is_valid():
        try:
            services.comment_flag(
                comment=target, reason=form.cleaned_data["reason"], address=_address(request)
            )
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Thank you. An editor will look at this comment."))
    else:
        messages.error(request, _("Say what is wrong with the comment."))
    return redirect(target.get_absolute_url())


def attachment(request: HttpRequest, pk: int) -> HttpResponseBase:
    item = get_object_or_404(Attachment.objects.select_related("comment"), pk=pk)
    user = _user(request)
    is_editor = user is not None and user.has_role("editor") and user.is_verified()  # type: ignore[attr-defined]
    if item.comment.status != Comment.Status.PUBLISHED and not is_editor:
        raise Http404
    return FileResponse(
        item.file.open("rb"), as_attachment=True, filename=item.name, content_type="application/pdf"
    )


# --- Subscriptions --------------------------------------------------------------------------


def subscribe(request: HttpRequest) -> HttpResponse:
    form = forms.SubscriptionForm(
        request.POST or None,
        initial={"publication": request.GET.get("publication"), "topic": request.GET.get("topic")},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.subscription_create(
                email=data["email"],
                frequency=data["frequency"],
                language=_language(),
                topic=data["topic"],
                publication=data["publication"],
            )
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            return render(request, "publications/subscription_sent.html", {"email": data["email"]})
    return render(request, "publications/subscribe.html", {"form": form})


def subscription_confirm(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "POST":
        try:
            subscription = services.subscription_confirm(token=token)
        except ServiceError as error:
            return render(
                request, "publications/link_error.html", {"message": error.message}, status=400
            )
        return render(
            request, "publications/subscription_confirmed.html", {"subscription": subscription}
        )
    return render(request, "publications/subscription_confirm.html", {"token": token})


# The token alone authorises this (no session): RFC 8058 one-click unsubscribe posts
# from the mail client without a CSRF token.
@csrf_exempt
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "POST":
        try:
            services.subscription_unsubscribe(token=token)
        except ServiceError as error:
            return render(
                request, "publications/link_error.html", {"message": error.message}, status=400
            )
        return render(request, "publications/unsubscribed.html")
    return render(request, "publications/unsubscribe.html", {"token": token})


# --- Editors --------------------------------------------------------------------------------


def _editor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@staff_required("editor")
def moderation(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        target = get_object_or_404(Comment, pk=request.POST.get("comment"))
        form = forms.ModerationForm(request.POST)
        if form.is_valid():
            try:
                services.comment_moderate(
                    comment=target,
                    approve=form.cleaned_data["decision"] == "approve",
                    by=_editor(request),
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
    by = _editor(request)
    theme_form = forms.ThemeForm(prefix="theme")
    response_form = forms.ResponseForm(prefix="response", initial={"response": item.response})
    publish_form = forms.PublishForm(
        prefix="publish", initial={"effective_date": item.earliest_effective_date()}
    )
    action = request.POST.get("action")
    try:
        if action == "theme":
            theme_form = forms.ThemeForm(request.POST, prefix="theme")
            if theme_form.is_valid():
                services.theme_create(
                    consultation=item, title=theme_form.cleaned_data["title"], by=by
                )
                return redirect("publications:editor_consultation", pk)
        elif action == "assign":
            target = get_object_or_404(item.comments, pk=request.POST.get("comment"))
            assign = forms.CommentThemeForm(request.POST, consultation=item)
            if assign.is_valid():
                services.comment_set_theme(
                    comment=target, theme=assign.cleaned_data["theme"], by=by
                )
            return redirect("publications:editor_consultation", pk)
        elif action == "answer":
            theme = get_object_or_404(Theme, consultation=item, pk=request.POST.get("theme"))
            services.theme_answer(theme=theme, answer=request.POST.get("answer", ""), by=by)
            return redirect("publications:editor_consultation", pk)
        elif action == "response":
            response_form = forms.ResponseForm(request.POST, prefix="response")
            if response_form.is_valid():
                services.consultation_set_response(
                    consultation=item, response=response_form.cleaned_data["response"], by=by
                )
                messages.success(request, _("Response saved."))
                return redirect("publications:editor_consultation", pk)
        elif action == "publish":
            publish_form = forms.PublishForm(request.POST, prefix="publish")
            if publish_form.is_valid():
                final = get_object_or_404(
                    Version,
                    pk=request.POST.get("version"),
                    publication=item.version.publication,
                    language=item.version.language,
                    status__in=[Version.Status.DRAFT, Version.Status.PROPOSED],
                )
                services.version_publish(
                    version=final,
                    effective_date=publish_form.cleaned_data["effective_date"],
                    by=by,
                )
                messages.success(request, _("The final version is published."))
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


# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


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
        by = _editor(request)
        try:
            with transaction.atomic():
                created = services.publication_create(
                    slug=form.cleaned_data["slug"],
                    kind=form.cleaned_data["kind"],
                    topics=list(form.cleaned_data["topics"]),
                    by=by,
                )
                services.version_create(publication=created, by=by, **version_form.cleaned_data)
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
    by = _editor(request)
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
            services.version_create(publication=item, by=by, **version_form.cleaned_data)
            messages.success(request, _("Draft saved."))
            return redirect("publications:editor_text", slug)
        if action == "publish" and target is not None and publish_form.is_valid():
            services.version_publish(
                version=target, effective_date=publish_form.cleaned_data["effective_date"], by=by
            )
            messages.success(request, _("Published."))
            return redirect("publications:editor_text", slug)
        if action == "consult" and target is not None and consultation_form.is_valid():
            created = services.consultation_create(
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
