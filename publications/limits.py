"""What anonymous readers may send: how many comments, reports and subscriptions one address
may make in an hour, and how long an emailed confirmation link lasts."""

from django.conf import settings
from django.utils.translation import gettext as _

from clearance.errors import ServiceError
from clearance.limits import within_hourly_limit

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
