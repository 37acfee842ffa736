"""What anonymous readers may send: how many comments, reports and subscriptions one address
may make in an hour, and how long an emailed confirmation link lasts."""

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _

from clearance.errors import ServiceError

CONFIRM_MAX_AGE = 60 * 60 * 24 * 3


def rate_limit(kind: str, value: str) -> None:
    """Count one comment (or report, or subscription) against an hourly window; refuse past
    ``COMMENT_RATE_PER_HOUR``. ``kind`` says what ``value`` is: "ip", "email", "flag" (an
    address reporting) or "subscribe" (an email address subscribing).

    ``add`` then ``incr`` are single Redis commands, so concurrent posts cannot both slip
    under the limit.
    """
    window = timezone.now().strftime("%Y%m%d%H")
    digest = hashlib.sha256(value.lower().encode()).hexdigest()[:32]
    key = f"publications:comment-rate:{kind}:{digest}:{window}"
    cache.add(key, 0, timeout=3600)
    if cache.incr(key) > settings.COMMENT_RATE_PER_HOUR:
        raise ServiceError(
            _("Too many comments from this %(what)s in the last hour. Try again later.")
            % {"what": _("email address") if kind in ("email", "subscribe") else _("address")},
            field="email" if kind == "email" else "",
            code="rate_limited",
        )
