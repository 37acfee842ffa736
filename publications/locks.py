"""The row locks of publications, one named helper for each, all built on
``clearance.workflow.lock_rows`` and ``lock_row``: the rows themselves, in primary-key order.

A version is locked after its publication, so that numbering a new draft, putting a version up
for consultation and publishing one (with the version it supersedes and the consultations it
concludes) take turns on the publication row: two editors publishing in one language cannot
both make a current text.
"""

from clearance.workflow import lock_row, lock_rows
from publications.models import Comment, Consultation, Publication, Subscription, Version


def lock_publication(pk: int) -> Publication:
    return lock_row(Publication.objects.all(), pk=pk)


def lock_version(version: Version) -> Version:
    """``version`` read again under lock, with its publication (locked first)."""
    lock_publication(version.publication_id)
    return lock_row(Version.objects.select_related("publication"), pk=version.pk)


def lock_current_version(version: Version) -> Version | None:
    """The published version of ``version``'s publication in its language, which ``version``
    replaces when it is published; None before the first edition."""
    current = Version.objects.filter(
        publication_id=version.publication_id,
        language=version.language,
        status=Version.Status.PUBLISHED,
    )
    return lock_rows(current).first()


def lock_pending_consultations(version: Version) -> list[Consultation]:
    """Consultations on ``version``'s publication and language that no final version has
    concluded."""
    return list(
        lock_rows(
            Consultation.objects.filter(
                version__publication_id=version.publication_id,
                version__language=version.language,
                final_version__isnull=True,
            )
        )
    )


def lock_due_consultation(consultation: Consultation) -> Consultation | None:
    """``consultation`` locked, if it still has the status it was read with and no other
    transaction holds it (a sweep that any worker may run: the one holding it moves it)."""
    due = Consultation.objects.select_related("version__publication").filter(
        pk=consultation.pk, status=consultation.status
    )
    return lock_rows(due, skip_locked=True).first()


def lock_consultation(pk: int) -> Consultation:
    return lock_row(Consultation.objects.all(), pk=pk)


def lock_comment(pk: int) -> Comment:
    """A comment locked, with its consultation loaded (not locked)."""
    return lock_row(Comment.objects.select_related("consultation"), pk=pk)


def lock_linked_comment(pk: int, tracking_number: str) -> Comment | None:
    """The comment an emailed link names, locked; None when none has both."""
    return lock_rows(Comment.objects.filter(pk=pk, tracking_number=tracking_number)).first()


def lock_linked_subscription(pk: int, email: str) -> Subscription | None:
    """The subscription an emailed link names, locked; None when none has both."""
    return lock_rows(Subscription.objects.filter(pk=pk, email=email)).first()
