"""The review room's demo: cases for the demo declarations under review, and one released by
the demo officer through the release service."""

import pytest
from django.core.management import call_command

from clearance.models import Notification
from clearance.review.models import ReleaseNotice, ReviewCase
from declarations.models import Declaration, Status

pytestmark = pytest.mark.django_db


def test_seed_demo_releases_through_the_release_service_and_fills_the_queues(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo")
    call_command("seed_demo")
    for released in Declaration.objects.filter(reference="DEMO-RELEASED"):
        assert released.status == Status.RELEASED
        assert released.released_at is not None
        assert ReleaseNotice.objects.filter(declaration=released).exists()
        assert released.decisions.get().by.email == "officer@demo.example"
        assert Notification.objects.filter(
            event="declaration_released", context__reference=released.system_reference
        ).exists()
    under_review = Declaration.objects.filter(
        reference__startswith="DEMO-", status__in=[Status.UNDER_REVIEW, Status.INFO_REQUESTED]
    )
    assert under_review.count() == 4  # review and info, for the seller and the platform
    assert ReviewCase.objects.open().filter(declaration__in=under_review).count() == 4
    assert Declaration.objects.filter(reference="DEMO-HELD", status=Status.HELD).count() == 2
