"""The public's pages of published texts: the list, a text and its translations, the text in
force on a day, its history and the differences between two versions, and search."""

from datetime import date

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from publications import access, forms, markdown
from publications.models import MARK_START, MARK_STOP, Consultation, Publication, Version


def _current(publication: Publication, language: str) -> Version | None:
    """The current text in the reader's language, else in the portal's, else in any."""
    current = publication.versions.current()
    return (
        current.filter(language=language).first()
        or current.filter(language=settings.LANGUAGE_CODE).first()
        or current.first()
    )


def index(request: HttpRequest) -> HttpResponse:
    language = access.reader_language()
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
    publication = access.public_publication(slug)
    language = access.reader_language()
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
    publication = access.public_publication(slug)
    version = access.viewable_version(publication, pk)
    return render(
        request,
        "publications/version.html",
        {"publication": publication, "version": version},
    )


def history(request: HttpRequest, slug: str) -> HttpResponse:
    publication = access.public_publication(slug)
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
    publication = access.public_publication(slug)
    try:
        old_pk, new_pk = int(request.GET["from"]), int(request.GET["to"])
    except (KeyError, ValueError):
        messages.error(request, _("Choose two versions to compare."))
        return redirect("publications:history", slug)
    old = access.viewable_version(publication, old_pk)
    new = access.viewable_version(publication, new_pk)
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
