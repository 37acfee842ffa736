"""Who may see which publication, version, consultation, comment and attachment: the one place
that answers it, and who is asking.

The public reads what was published and what is out for consultation; editors (with a passed
second factor, see ``clearance.access.staff_required``) also read what waits for moderation.
Anything else is a 404, the same answer as for a record that does not exist.
"""

from django.conf import settings
from django.db.models import Q
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import get_language

from clearance.models import User
from publications.models import Attachment, Comment, Consultation, Publication, Version


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


def viewable_attachment(user: User | None, pk: int) -> Attachment:
    """A published comment's attachment; an editor's, whatever the comment's status."""
    item = get_object_or_404(Attachment.objects.select_related("comment"), pk=pk)
    is_editor = user is not None and user.has_role("editor") and user.is_verified()  # type: ignore[attr-defined]
    if item.comment.status != Comment.Status.PUBLISHED and not is_editor:
        raise Http404
    return item


# --- Who is asking ------------------------------------------------------------------------------


def reader_language() -> str:
    """The reader's language (``en``, ``ko``), else the portal's."""
    language = get_language() or settings.LANGUAGE_CODE
    return language.split("-")[0]


def signed_in_user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def editor(request: HttpRequest) -> User:
    """The editor on a ``staff_required("editor")`` page."""
    assert isinstance(request.user, User)
    return request.user
