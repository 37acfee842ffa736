"""The public's consultation pages: the list, a consultation with its published comments,
commenting on it (and confirming an anonymous comment by its emailed link), reporting a
comment, and comments' attachments."""

from django.contrib import messages
from django.db.models import Count, Prefetch, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clearance.errors import ServiceError
from clearance.limits import client_address
from publications import access, comments, forms, markdown
from publications.models import Comment, Consultation, Version


def consultations(request: HttpRequest) -> HttpResponse:
    items = Consultation.objects.select_related("version__publication").order_by(
        "status", "-closes_at"
    )
    return render(request, "publications/consultations.html", {"consultations": items})


def consultation(request: HttpRequest, pk: int) -> HttpResponse:
    item = access.public_consultation(pk)
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
    item = access.public_consultation(pk)
    if not item.is_open:
        raise Http404
    user = access.signed_in_user(request)
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
            created = comments.comment_submit(
                consultation=item,
                body=data["body"],
                name=data.get("name", ""),
                email=data.get("email", ""),
                user=user,
                address=client_address(request),
                section=data["section"],
                on_behalf=data["on_behalf"],
                organisation_name=data["organisation_name"],
                attachment=data["attachment"],
                honeypot=request.POST.get(HONEYPOT, ""),
                language=access.reader_language(),
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
    item = access.public_consultation(pk)
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
            confirmed = comments.comment_confirm(token=token)
        except ServiceError as error:
            return render(
                request, "publications/link_error.html", {"message": error.message}, status=400
            )
        return render(request, "publications/comment_confirmed.html", {"comment": confirmed})
    return render(request, "publications/comment_confirm.html", {"token": token})


@require_POST
def comment_flag(request: HttpRequest, tracking_number: str) -> HttpResponse:
    target = access.public_comment(tracking_number)
    form = forms.FlagForm(request.POST)
    if form.is_valid():
        try:
            comments.comment_flag(
                comment=target,
                reason=form.cleaned_data["reason"],
                address=client_address(request),
            )
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Thank you. An editor will look at this comment."))
    else:
        messages.error(request, _("Say what is wrong with the comment."))
    return redirect(target.get_absolute_url())


def attachment(request: HttpRequest, pk: int) -> HttpResponseBase:
    item = access.viewable_attachment(access.signed_in_user(request), pk)
    return FileResponse(
        item.file.open("rb"), as_attachment=True, filename=item.name, content_type="application/pdf"
    )
