"""What officer review takes over from risk scoring (``clearance.risk.signals``), in the
scoring transaction: a case in its queue for each declaration going under review, and release,
through the release service, of each green declaration with nothing due."""

import datetime
from collections.abc import Sequence
from typing import Any

from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from clearance.actors import Actor
from clearance.review import release
from clearance.review.models import Queue, ReviewCase
from clearance.risk.models import RiskLane, RiskSettings
from clearance.risk.signals import Scored
from declarations.models import Status


def take_over(
    sender: Any, *, scored: Sequence[Scored], at: datetime.datetime, **kwargs: Any
) -> None:
    release.release_locked(
        [
            release.Releasable(
                declaration_id=s.declaration_id,
                status=s.status,
                version=s.version,
                held=False,  # scoring never scores a held version
                scored=True,  # its score was stored just now, in this transaction
                organisation_id=s.organisation_id,
                system_reference=s.system_reference,
                reference=s.reference,
                lane=s.lane,
            )
            for s in scored
            if s.to == Status.RELEASED
        ],
        leaving=(Status.SUBMITTED,),
        actor=Actor(),
        at=at,
    )
    review = [s for s in scored if s.to == Status.UNDER_REVIEW]
    if review:
        open_cases(review)


def _queue_for(lane: str) -> str:
    return Queue.INSPECTION if lane == RiskLane.RED else Queue.DOCUMENT_CHECK


def open_cases(scored: Sequence[Scored]) -> None:
    """A case in its queue for each declaration going under review (reopened after an
    amendment), due ``review_hours`` after its submission."""
    hours = RiskSettings.current().review_hours
    now = timezone.now()
    existing = {
        c.declaration_id: c
        for c in ReviewCase.objects.filter(declaration__in=[s.declaration_id for s in scored])
    }
    new = []
    for s in scored:
        due = s.submitted_at + datetime.timedelta(hours=hours)
        case = existing.get(s.declaration_id)
        if case is None:
            new.append(
                ReviewCase(
                    declaration_id=s.declaration_id,
                    queue=_queue_for(s.lane),
                    points=s.points,
                    opened_at=now,
                    due_at=due,
                )
            )
            continue
        case.queue = _queue_for(s.lane)
        case.points = s.points
        case.opened_at = now
        case.due_at = due
        case.closed_at = None
        case.claimed_by = None
        case.claimed_at = None
        case.save()
    if new:
        bulk_create_with_history(new, ReviewCase, default_date=now)
