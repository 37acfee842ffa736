"""Submitting stores the assessment the clearance core computes, frozen with the version."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clearance import regimes
from declarations import services
from declarations.models import Status
from declarations.selectors import _parcel
from tests.declarations.helpers import declaration_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def regime(db):
    regimes.load_demo()
    # The shipped exchange rates end in April 2026: assess on a day they cover.
    with time_machine.travel("2026-04-10 10:00 +0900", tick=False):
        yield


def test_a_batch_assesses_each_parcel_as_assess_parcel_would(regime, organisation, actor):
    outcomes = services.declarations_create(
        organisation=organisation,
        items=[declaration_data(), declaration_data(currency="EUR")],
        submit=True,
        actor=actor,
    )
    for outcome in outcomes:
        declaration = outcome.declaration
        version = declaration.versions.get()
        lines = list(declaration.lines.all())
        expected = regimes.assess_parcel(
            _parcel(declaration, lines, version.created_at.date()),
            earlier=[],
        )
        if declaration.currency == "EUR":
            # the second parcel to the same consignee counts the first as earlier
            continue
        assert version.assessment == expected.to_dict()
        assert version.total_due == expected.total_due
        assert version.eligible == expected.eligible
        assert not version.held


def test_the_assessor_loads_the_regime_once_for_a_set(regime, organisation, actor):
    day = datetime.date(2026, 4, 10)
    assessor = regimes.ParcelAssessor(day)
    declaration = services.declaration_create(
        organisation=organisation, data=declaration_data(), submit=False, actor=actor
    )
    parcel = _parcel(declaration, list(declaration.lines.all()), day)
    assessor.assess(parcel, [])
    with CaptureQueriesContext(connection) as queries:
        for _ in range(10):
            assessor.assess(parcel, [])
    assert len(queries) == 0


def test_without_a_regime_in_force_the_version_is_held_with_the_reason(organisation, actor):
    declaration = services.declaration_create(
        organisation=organisation, data=declaration_data(), submit=True, actor=actor
    )
    version = declaration.versions.get()
    assert version.held
    assert "No low-value regime" in version.assessment["hold_reason"]
    assert declaration.status == Status.HELD
