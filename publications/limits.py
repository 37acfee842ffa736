"""What anonymous readers may send: how many comments, reports and subscriptions one address
may make in an hour, and how long an emailed confirmation link lasts."""

from django.conf import settings
from django.utils.translation import gettext as _

from clearance.errors import ServiceError
from clearance.limits import may_email, within_hourly_limit

CONFIRM_MAX_AGE = 60 * 60 * 24 * 3


def rate_limit(kind: str, value: str) -> None:
    """Count one comment (or report, or subscription) against an hourly window; refuse past
    ``COMMENT_RATE_PER_HOUR``. ``kind`` says what ``value`` is: "ip", "email", "flag" (an
    address reporting) or "subscribe" (an email address subscribing).

    """
    scope = f"publications:comment-rate:{kind}"
    if not within_hourly_limit(scope, value.lower(), settings.COMMENT_RATE_PER_HOUR):
        raise ServiceError(
            _("Too many comments from this %(what)s in the last hour. Try again later.")
            % {"what": _("email address") if kind in ("email", "subscribe") else _("address")},
            field="email" if kind == "email" else "",
            code="rate_limited",
        )


def confirmation_email_allowed(email: str) -> None:
    """Refuse, naming the email field, once this mailbox has had its confirmation links for the
    hour (``clearance.limits.may_email``): the person can confirm what was already sent."""
    if not may_email(email):
        raise ServiceError(
            _(
                "Confirmation links were already sent to this email address several times in "
                "the last hour. Open one of them, or try again later."
            ),
            field="email",
            code="rate_limited",
        )
