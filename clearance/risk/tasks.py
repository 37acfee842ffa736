"""Celery tasks of risk scoring. Each takes ids and is safe to run twice."""

from datetime import timedelta

from celery import shared_task
from django.db import InterfaceError, OperationalError

from clearance.risk import history, scoring
from declarations.services import SCORING_CHUNK, queue_scoring

UNSCORED_AFTER = timedelta(minutes=3)


@shared_task(
    name="clearance.score_declarations",
    # Said here as well as in the settings: a message is acknowledged only after its set is
    # scored, so a dead worker's sets are handed out again (by the broker after its visibility
    # timeout, by the sweeper within minutes).
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=300,
    soft_time_limit=280,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=5,
)
def score_declarations(ids: list[int]) -> int:
    """Score a set of submitted declarations, and others waiting up to a full set. Safe to run
    twice: a version is scored once, and a declaration that has moved on is left alone. A
    lost database connection (a transient error) rolls the whole set back, so retrying it
    cannot duplicate anything."""
    return scoring.score_declarations(ids, and_waiting=SCORING_CHUNK - len(ids))


@shared_task(name="clearance.sweep_clearance", time_limit=120)
def sweep_clearance() -> int:
    """Work a lost message or a dead worker left behind: declarations submitted minutes ago and
    still unscored are queued again."""
    ids = scoring.unscored(UNSCORED_AFTER)
    queue_scoring(ids)
    return len(ids)


@shared_task(name="clearance.refresh_reference_prices", time_limit=600)
def refresh_reference_prices() -> int:
    return history.reference_prices_refresh()
