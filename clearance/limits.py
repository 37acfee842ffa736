"""Hourly limits on what anonymous visitors may do: comments, reports and subscriptions on the
public portal, and parcel tracking. Each counts attempts per value (an address, an email, a
transport document) in the current clock hour, in the Django cache (Redis)."""

import datetime
import hashlib

from django.core.cache import cache
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
