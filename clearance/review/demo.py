"""Demo data of the review room: cases in the officers' queues, and a release by an officer.

Runs after the filing app's demo (this app comes after it in INSTALLED_APPS), since it works on
the declarations the filing demo made: every demo declaration under review or waiting for an
answer gets its case, and ``DEMO-RELEASED`` is released by the demo officer through the
release service, with its notice, its PDF queued and the filer told.
"""

import datetime
from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from clearance.actors import stamped
from clearance.models import Role, User
from clearance.review import services
from clearance.review.models import Queue, ReviewCase
from declarations.models import Declaration, Status


def seed_demo(people: Mapping[str, Any]) -> str:
    officer: User | None = people.get(Role.OFFICER)
    if officer is None:
        return "no officer to review"
    now = timezone.now()
    waiting = Declaration.objects.filter(
        organisation__in=[people[k] for k in ("seller", "platform") if k in people],
        reference__startswith="DEMO-",
        status__in=[Status.UNDER_REVIEW, Status.INFO_REQUESTED],
        review_case__isnull=True,
    )
    opened = 0
    for declaration in waiting:
        case = ReviewCase(
            declaration=declaration,
            queue=Queue.DOCUMENT_CHECK,
            points=35,
            opened_at=now,
            due_at=(declaration.submitted_at or now) + datetime.timedelta(hours=24),
        )
        stamped(case, officer).save()
        opened += 1
    released = 0
    for declaration in Declaration.objects.filter(
        reference="DEMO-RELEASED", status=Status.UNDER_REVIEW
    ):
        services.case_claim(case=declaration.review_case, by=officer)
        services.decision_release(
            declaration=declaration, by=officer, reason="Invoice and photos match the goods."
        )
        released += 1
    return f"{opened} review cases opened, {released} declarations released by an officer"
