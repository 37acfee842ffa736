"""Hourly limits on what anonymous visitors may do: comments, reports and subscriptions on the
public portal, and parcel tracking. Each counts attempts per value (an address, an email, a
transport document) in the current clock hour, in the Django cache (Redis).

Every limit per address, and the sign-in lockout, counts the client's address as
``client_address`` gives it. ``X-Forwarded-For`` is believed only as far as ``TRUSTED_PROXIES``
says: with none (the default) the address is the connection's own, and a header a client made
up changes nothing; behind N proxies of our own it is the address the outermost of them saw,
the N-th from the right (each proxy appends the address it received from). DRF's throttles use
the same rule (``NUM_PROXIES``).
"""

import datetime
import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone

WINDOW_SECONDS = 3600


def hourly_key(scope: str, value: str, now: datetime.datetime | None = None) -> str:
    """The cache key counting ``scope`` attempts for ``value`` in this hour (the value hashed:
    addresses and emails are not kept in the cache as they are)."""
    window = (now or timezone.now()).strftime("%Y%m%d%H")
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return f"{scope}:{digest}:{window}"


def within_hourly_limit(scope: str, value: str, limit: int) -> bool:
    """Count one attempt; whether it is still within ``limit`` this hour. ``add`` then ``incr``
    are single Redis commands, so concurrent attempts cannot both slip under the limit."""
    key = hourly_key(scope, value)
    cache.add(key, 0, timeout=WINDOW_SECONDS)
    return int(cache.incr(key)) <= limit


def client_address(request: HttpRequest) -> str:
    """The client's address: see the module's docstring."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    proxies = settings.TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if not proxies or not forwarded:
        return remote
    addresses = [a.strip() for a in str(forwarded).split(",") if a.strip()]
    return addresses[-min(proxies, len(addresses))] if addresses else remote


def may_email(address: str) -> bool:
    """Count one unasked-for message to ``address`` (a password reset, a confirmation link, a
    notice that someone registered with it); whether it is within
    ``EMAILS_PER_RECIPIENT_PER_HOUR``. Anyone can type someone else's address into these forms,
    so the count is per mailbox, whoever asks, and the forms cannot be used to bomb one."""
    scope = "clearance:emails-to"
    return within_hourly_limit(
        scope, address.strip().lower(), settings.EMAILS_PER_RECIPIENT_PER_HOUR
    )
