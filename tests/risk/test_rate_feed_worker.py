"""On the real clock, with a real worker: parcels filed while no rate is in force are held; the
task beat runs fetches today's rates from a local server in the ECB's own file format, and the
held parcels are then assessed, scored and moved on with no one acting."""

import pytest
from django.utils import timezone

from clearance import regimes
from clearance.actors import Actor
from clearance.celery import app as celery_app
from clearance.risk.models import RiskScore, RiskSettings
from declarations import services
from declarations.models import Declaration, Status
from tests.conftest import FEED_PATH, wait_for
from tests.declarations.helpers import declaration_data
from tests.factories import OrganisationFactory
from tests.ratefeed_server import ecb_daily_zip

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_beat_task_brings_todays_rates_and_held_parcels_move_on_by_themselves(
    celery_worker, rate_feed
):
    regimes.load_reference_data()  # the shipped ECB rates end on 2026-04-13
    RiskSettings.objects.update_or_create(pk=1, defaults={"random_share": 0})
    organisation = OrganisationFactory(name="Held Goods")
    outcomes = services.declarations_create(
        organisation=organisation,
        items=[declaration_data() for _ in range(3)],
        submit=True,
        actor=Actor(user=organisation.owner),
    )
    ids = [o.declaration.pk for o in outcomes if o.declaration is not None]
    assert set(Declaration.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        Status.HELD
    }

    today = timezone.localdate()
    rate_feed.publish(FEED_PATH, ecb_daily_zip(today, {"USD": "1.1650", "KRW": "1712.35"}))
    [entry] = [e for e in celery_app.conf.beat_schedule.values() if "exchange_rates" in e["task"]]
    celery_app.send_task(entry["task"])  # what beat sends on the hour

    def moved_on() -> bool:
        return not Declaration.objects.filter(
            pk__in=ids, status__in=[Status.HELD, Status.SUBMITTED]
        ).exists()

    wait_for(moved_on, timeout=60)
    for declaration in Declaration.objects.filter(pk__in=ids):
        assert declaration.version == 2
        version = declaration.versions.get(number=2)
        assert not version.held and version.customs_value > 0
        assert version.assessment["date"] == today.isoformat()
        assert RiskScore.objects.filter(declaration=declaration, version=2).exists()
        assessed = declaration.status_changes.get(from_status=Status.HELD)
        assert (assessed.to_status, assessed.by, assessed.by_key) == (Status.SUBMITTED, None, None)
    assert any(req[0] == FEED_PATH for req in rate_feed.requests)
