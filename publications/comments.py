"""Comments on open consultations: taking them, confirming an anonymous one by email,
grouping look-alikes into campaigns, moderation and readers' reports.

Each commenter hears of their comment: a signed-in one through the portal's notifications, an
anonymous one by email to the address the comment confirmed (``publications.tasks``).
"""

import difflib
import hashlib
import re
import secrets
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from clearance.actors import stamped
from clearance.errors import ServiceError
from clearance.models import User
from clearance.queue import enqueue_on_commit
from clearance.services import notify
from clearance.uploads import check_upload
from publications.limits import CONFIRM_MAX_AGE, confirmation_email_allowed, rate_limit
from publications.locks import lock_comment, lock_consultation, lock_linked_comment
from publications.models import Attachment, Campaign, Comment, Consultation, Flag

COMMENT_SALT = "publications.comment-confirm"
# Two comments this alike (difflib ratio of their normalised words) belong to one campaign.
CAMPAIGN_SIMILARITY = 0.9
CAMPAIGN_WINDOW = 500
_TRACKING_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def normalise(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def fingerprint(text: str) -> str:
    """What identical comments share, whatever their case, spacing and punctuation."""
    return hashlib.sha256(normalise(text).encode()).hexdigest()


def tracking_number() -> str:
    chars = "".join(secrets.choice(_TRACKING_ALPHABET) for _ in range(12))
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def check_attachment(upload: "UploadedFile[Any]") -> None:
    check_upload(
        upload,
        field="attachment",
        max_bytes=settings.COMMENT_ATTACHMENT_MAX_BYTES,
        types=("pdf",),
        too_large=_("The attachment is larger than %(mb)s MB."),
    )


def comment_submit(
    *,
    consultation: Consultation,
    body: str,
    name: str,
    email: str,
    user: User | None,
    address: str,
    section: str = "",
    on_behalf: str = Comment.OnBehalf.INDIVIDUAL,
    organisation_name: str = "",
    attachment: "UploadedFile[Any] | None" = None,
    honeypot: str = "",
    language: str = "en",
) -> Comment:
    """Take a comment on an open consultation and give it a tracking number.

    A signed-in user's comment counts as confirmed at once; an anonymous one waits until the
    link sent to its email address is opened.
    """
    if honeypot:
        raise ServiceError(_("Your comment could not be accepted."), code="spam")
    if consultation.status != Consultation.Status.OPEN:
        raise ServiceError(_("This consultation is not open for comments."), code="closed")
    if not body.strip():
        raise ServiceError(_("Write your comment."), field="body", code="required")
    if section and section not in dict(consultation.version.sections()):
        raise ServiceError(_("Choose a section of the text."), field="section")
    if on_behalf == Comment.OnBehalf.ORGANISATION and not organisation_name.strip():
        raise ServiceError(
            _("Give the name of the organisation you comment for."), field="organisation_name"
        )
    if attachment is not None:
        check_attachment(attachment)
    if user is not None:
        email, name = user.email, name or user.get_full_name() or user.email
    rate_limit("ip", address)
    rate_limit("email", email)
    if user is None:
        confirmation_email_allowed(email)

    with transaction.atomic():
        comment = Comment(
            consultation=consultation,
            tracking_number=tracking_number(),
            section=section,
            body=body.strip(),
            user=user,
            name=name.strip(),
            email=email.strip().lower(),
            language=language,
            on_behalf=on_behalf,
            organisation_name=organisation_name.strip()
            if on_behalf == Comment.OnBehalf.ORGANISATION
            else "",
            status=Comment.Status.UNCONFIRMED,
            fingerprint=fingerprint(body),
        )
        stamped(comment, user).save()
        if attachment is not None:
            Attachment.objects.create(
                comment=comment,
                file=attachment,
                name=(attachment.name or "attachment.pdf")[-200:],
                size=attachment.size or 0,
            )
        if user is not None:
            _confirmed(comment, user)
        else:
            enqueue_on_commit("publications.send_comment_email", comment.pk, "confirm")
    return comment


def comment_confirm_token(comment: Comment) -> str:
    return signing.dumps({"c": comment.pk, "t": comment.tracking_number}, salt=COMMENT_SALT)


def comment_confirm(*, token: str) -> Comment:
    """Confirm an anonymous comment from its email link. Opening the link twice is harmless."""
    try:
        data = signing.loads(token, salt=COMMENT_SALT, max_age=CONFIRM_MAX_AGE)
    except signing.SignatureExpired:
        raise ServiceError(_("This confirmation link has expired."), code="expired") from None
    except signing.BadSignature:
        raise ServiceError(_("This confirmation link is not valid."), code="invalid") from None
    with transaction.atomic():
        comment = lock_linked_comment(data["c"], data["t"])
        if comment is None:
            raise ServiceError(_("This confirmation link is not valid."), code="invalid")
        if comment.status == Comment.Status.UNCONFIRMED:
            _confirmed(comment, None)
    return comment


def _confirmed(comment: Comment, by: User | None) -> None:
    """The comment is real: group it with its look-alikes, queue or publish it, send a receipt.
    The caller holds the comment's row lock (or has just made it)."""

    # The consultation row lock keeps two look-alikes confirmed at once from making two
    # campaigns.
    lock_consultation(comment.consultation_id)
    target = Comment.Status.PENDING if settings.COMMENT_PRE_MODERATION else Comment.Status.PUBLISHED
    Comment.WORKFLOW.check(comment.status, target, leaving=Comment.Status.UNCONFIRMED)
    comment.campaign = _campaign_for(comment)
    comment.status = target
    comment.confirmed_at = timezone.now()
    stamped(comment, by).save(update_fields=["campaign", "status", "confirmed_at"])
    _tell_commenter(comment, event="comment_received", email="receipt")


def _campaign_for(comment: Comment) -> Campaign | None:
    others = (
        Comment.objects.filter(consultation_id=comment.consultation_id)
        .exclude(pk=comment.pk)
        .exclude(status__in=[Comment.Status.UNCONFIRMED])
    )
    match = others.filter(fingerprint=comment.fingerprint).order_by("pk").first()
    if match is None:
        words = normalise(comment.body)
        for other in others.order_by("-pk")[:CAMPAIGN_WINDOW]:
            matcher = difflib.SequenceMatcher(a=words, b=normalise(other.body), autojunk=False)
            if (
                matcher.real_quick_ratio() >= CAMPAIGN_SIMILARITY
                and matcher.quick_ratio() >= CAMPAIGN_SIMILARITY
                and matcher.ratio() >= CAMPAIGN_SIMILARITY
            ):
                match = other
                break
    if match is None:
        return None
    if match.campaign is None:
        match.campaign = Campaign.objects.create(
            consultation_id=comment.consultation_id, sample=match.body
        )
        stamped(match, None).save(update_fields=["campaign"])
    return match.campaign


def _tell_commenter(comment: Comment, *, event: str, email: str) -> None:
    """Tell the commenter news of their comment: a signed-in one by the portal's ``event``
    notification, an anonymous one by the ``email`` of ``publications.send_comment_email``."""
    if comment.user is not None:
        notify(
            event=event,
            recipients=[comment.user],
            context={
                "tracking_number": comment.tracking_number,
                "title": comment.consultation.title,
            },
            url=comment.get_absolute_url(),
        )
    else:
        enqueue_on_commit("publications.send_comment_email", comment.pk, email)


# What each moderation decision makes of a comment, and the statuses it may leave: a comment
# waiting for moderation, or one decided before (a reported comment rejected after it was
# published, a rejected one published after all).
_DECISIONS = {
    True: (Comment.Status.PUBLISHED, (Comment.Status.PENDING, Comment.Status.REJECTED)),
    False: (Comment.Status.REJECTED, (Comment.Status.PENDING, Comment.Status.PUBLISHED)),
}


def comment_moderate(*, comment: Comment, approve: bool, by: User) -> Comment:
    """An editor publishes or rejects a comment; a published commenter is told."""

    target, leaving = _DECISIONS[approve]
    with transaction.atomic():
        comment = lock_comment(comment.pk)
        Comment.WORKFLOW.check(comment.status, target, leaving=leaving)
        comment.status = target
        comment.moderated_at = timezone.now()
        comment.moderated_by = by
        stamped(comment, by).save(update_fields=["status", "moderated_at", "moderated_by"])
        if approve:
            _tell_commenter(comment, event="comment_published", email="published")
    return comment


def comment_flag(*, comment: Comment, reason: str, address: str) -> Flag:
    """A reader reports a published comment; editors see flagged comments first.

    Reports count against the same hourly limit per address as comments do.
    """
    if comment.status != Comment.Status.PUBLISHED:
        raise ServiceError(_("Only published comments can be reported."), code="not_published")
    if not reason.strip():
        raise ServiceError(_("Say what is wrong with the comment."), field="reason")
    rate_limit("flag", address)
    with transaction.atomic():
        flag = Flag.objects.create(comment=comment, reason=reason.strip()[:300])
        Comment.objects.filter(pk=comment.pk).update(flag_count=F("flag_count") + 1)
    return flag


def comment_context(comment: Comment) -> dict[str, Any]:
    """What the emails to an anonymous commenter say about their comment."""
    return {
        "name": comment.name,
        "tracking_number": comment.tracking_number,
        "title": comment.consultation.title,
        "url": comment.get_absolute_url(),
    }
