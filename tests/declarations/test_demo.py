import pytest

from declarations import demo
from declarations.models import Declaration, Status

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_declaration_in_every_status_and_runs_twice(organisation, rates_today):
    demo.seed(organisation)
    demo.seed(organisation)
    statuses = list(
        Declaration.objects.filter(organisation=organisation).values_list("status", flat=True)
    )
    # Released only through the release service, which sits above this app: the review
    # room's demo releases DEMO-RELEASED (tests/risk/test_demo.py).
    assert len(statuses) == len(demo.JOURNEYS)
    assert set(statuses) == set(Status.values) - {Status.RELEASED}
    held = Declaration.objects.get(reference="DEMO-HELD")
    assert held.status == Status.HELD
    assert "TWD" in held.versions.get().assessment["hold_reason"]
