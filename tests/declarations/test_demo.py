import pytest

from declarations import demo
from declarations.models import Declaration, Status

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_declaration_in_every_status_and_runs_twice(organisation):
    demo.seed(organisation)
    demo.seed(organisation)
    statuses = list(
        Declaration.objects.filter(organisation=organisation).values_list("status", flat=True)
    )
    assert sorted(statuses) == sorted(Status.values)
    released = Declaration.objects.get(reference="DEMO-RELEASED")
    assert released.released_at is not None
    assert released.lane == "green"
    assert [c.to_status for c in released.status_changes.all()] == [
        "draft",
        "submitted",
        "released",
    ]
