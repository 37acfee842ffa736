"""The state of the services the portal needs, for /healthz and for the worker's heartbeat."""

import time
from typing import Any

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from clearance.exchange_rates import newest_rates

HEARTBEAT_KEY = "clearance:worker-heartbeat"


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2, decode_responses=True
    )


def record_worker_heartbeat(hostname: str) -> None:
    """Called by every worker on a timer; the key lapses when no worker renews it."""
    ttl = settings.WORKER_HEARTBEAT_SECONDS * 3
    redis_client().set(HEARTBEAT_KEY, f"{hostname} {time.time():.0f}", ex=ttl)


def check_database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True}


def check_redis_and_worker() -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        client = redis_client()
        client.ping()
        beat = client.get(HEARTBEAT_KEY)
    except redis.RedisError as exc:
        down = {"ok": False, "error": exc.__class__.__name__}
        return down, {"ok": False, "error": "redis unreachable"}
    if beat is None:
        return {"ok": True}, {"ok": False, "error": "no worker heartbeat"}
    hostname, _, stamp = str(beat).rpartition(" ")
    return {"ok": True}, {
        "ok": True,
        "worker": hostname,
        "age_seconds": int(time.time() - float(stamp)),
    }


def check_exchange_rates() -> dict[str, Any]:
    """The newest published rate and whether it is still in force. A stale rate is a warning,
    not a failure: parcels are held until rates arrive, and restarting the web server would not
    bring them. The newest rate's date is reported either way."""
    try:
        found = newest_rates(timezone.localdate())
    except DatabaseError as exc:
        return {"ok": False, "error": exc.__class__.__name__}
    newest, fetched = found["newest"], found["fetched_at"]
    return {
        "ok": True,
        "newest": newest.isoformat() if newest else None,
        "source": found["source"],
        "fetched_at": fetched.isoformat() if fetched else None,
        "in_force_days": found["days"],
        "stale": found["stale"],
        "demo": found["demo"],
    }


def status() -> tuple[bool, dict[str, Any]]:
    database = check_database()
    redis_state, worker = check_redis_and_worker()
    checks = {"database": database, "redis": redis_state, "worker": worker}
    healthy = all(check["ok"] for check in checks.values())
    body: dict[str, Any] = {"status": "ok" if healthy else "unavailable", "checks": checks}
    if database["ok"]:
        rates = check_exchange_rates()
        body["exchange_rates"] = rates
        if rates.get("stale"):
            body["warnings"] = [
                f"The newest published exchange rate ({rates['newest'] or 'none'}) is older "
                f"than the {rates['in_force_days']} days a rate stays in force: parcels in "
                "other currencies are held until the feed brings new rates."
            ]
    return healthy, body
