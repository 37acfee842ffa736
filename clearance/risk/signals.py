"""What risk scoring hands on to officer review, without importing it.

``declarations_scored`` is sent inside the scoring transaction with ``scored``, one ``Scored``
per declaration that goes to an officer (``under_review``: it needs a case) or out of customs
(``released``: only the release service releases), and ``at``, the time of the scoring.
Officer review (``clearance.review.handoff``) receives it and does both in the same
transaction, so a failure there rolls the scoring back with it.
"""

import datetime
from dataclasses import dataclass

from django.dispatch import Signal


@dataclass(frozen=True)
class Scored:
    declaration_id: int
    status: str  # where it was when scored: submitted
    version: int
    to: str  # under_review or released
    lane: str
    points: int
    submitted_at: datetime.datetime
    organisation_id: int
    system_reference: str
    reference: str


declarations_scored = Signal()
