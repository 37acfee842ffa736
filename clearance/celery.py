"""The Celery app: the one place, beside urls.py, that gathers every app's tasks."""

import contextlib
import os
from typing import Any

from celery import Celery, bootsteps
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clearance.settings")

app = Celery("clearance")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Beat runs these; the schedule is code so a change is reviewed like any other.
app.conf.beat_schedule = {
    "sweep-notification-outbox": {
        "task": "clearance.sweep_notification_outbox",
        "schedule": 60.0,
    },
    "sweep-clearance": {
        "task": "clearance.sweep_clearance",
        "schedule": 60.0,
    },
    "sweep-release-notices": {
        "task": "clearance.sweep_release_notices",
        "schedule": 60.0,
    },
    "refresh-reference-prices": {
        "task": "clearance.refresh_reference_prices",
        "schedule": crontab(hour=3, minute=30),
    },
    "sweep-csv-uploads": {
        "task": "declarations.sweep_csv_uploads",
        "schedule": 120.0,
    },
    "advance-consultations": {
        "task": "publications.advance_consultations",
        "schedule": 60.0,
    },
    "issue-monthly-statements": {
        "task": "refunds.issue_monthly_statements",
        "schedule": crontab(day_of_month=1, hour=2, minute=0),
    },
    "sweep-payments-and-refunds": {
        "task": "refunds.sweep",
        "schedule": 300.0,
    },
    "send-daily-digests": {
        "task": "publications.send_daily_digests",
        "schedule": crontab(hour=7, minute=0),
    },
    # The ECB publishes around 16:00 CET; an administration's own rates at its own hour. An
    # unchanged file costs one short conditional request.
    "fetch-exchange-rates": {
        "task": "clearance.fetch_exchange_rates",
        "schedule": crontab(minute=15),
    },
    # Does nothing with DEBUG off; in a demo, the new day gets its demo rates within the hour.
    "carry-demo-rates": {
        "task": "clearance.carry_demo_rates",
        "schedule": crontab(minute=5),
    },
    # Published texts state figures from settings and the regime in force: re-render the
    # texts whose figures changed (a regime saved, a setting changed at deploy).
    "refresh-publication-figures": {
        "task": "publications.refresh_figures",
        "schedule": crontab(minute="*/15"),
    },
    # Held declarations are assessed again as soon as rates or a regime arrive (the import
    # queues this); the sweep catches a lost message.
    "reassess-held-declarations": {
        "task": "declarations.reassess_held",
        "schedule": 600.0,
    },
    # Webhooks: new events become deliveries (each change also nudges the relay at once), and
    # the due deliveries, retries included, are sent. Both are cheap when nothing waits.
    "relay-webhook-events": {
        "task": "declarations.webhook_relay",
        "schedule": 5.0,
    },
    "sweep-webhook-deliveries": {
        "task": "declarations.webhook_sweep",
        "schedule": 5.0,
    },
}


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Writes a heartbeat to Redis on a timer so /healthz can tell a worker is alive."""

    requires = ("celery.worker.components:Timer",)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        self.tref: Any = None

    def start(self, worker: Any) -> None:
        # Imported when the worker starts: this module is loaded before Django is set up.
        from django.conf import settings

        self.beat(worker)
        self.tref = worker.timer.call_repeatedly(
            settings.WORKER_HEARTBEAT_SECONDS, self.beat, (worker,), priority=10
        )

    def stop(self, worker: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()

    def beat(self, worker: Any) -> None:
        # Imported on the first beat, once Django is set up (clearance.health reads settings).
        import redis

        from clearance.health import record_worker_heartbeat

        # Redis down: /healthz reports that itself, and the next beat tries again.
        with contextlib.suppress(redis.RedisError):
            record_worker_heartbeat(worker.hostname)


app.steps["worker"].add(WorkerHeartbeat)
