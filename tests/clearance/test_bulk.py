"""Set-based writes: rows from whole columns, and history rows built from the table itself."""

import datetime
import json

import pytest
from django.utils import timezone

from clearance import bulk
from clearance.actors import Actor
from clearance.risk import scoring as risk
from clearance.risk.models import RiskScore, RiskSettings
from clearance.services import apikey_create
from declarations import events, services
from declarations.models import Declaration, Status, StatusChange
from tests.declarations.helpers import declaration_data
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def drafts():
    organisation = OrganisationFactory(name="Bulk Traders")
    actor = Actor(user=organisation.owner)
    outcomes = services.declarations_create(
        organisation=organisation,
        items=[declaration_data() for _ in range(3)],
        submit=False,
        actor=actor,
    )
    return organisation, [o.declaration for o in outcomes]


def test_insert_rows_writes_each_column_with_its_type(drafts):
    organisation, declarations = drafts
    at = timezone.now()
    rows = [
        (d.pk, "", Status.SUBMITTED, at, organisation.owner.pk, None, n or None, f"note {n}")
        for n, d in enumerate(declarations)
    ]
    assert bulk.insert_rows(StatusChange, events.STATUS_CHANGE_FIELDS, rows) == 3
    written = StatusChange.objects.filter(note__startswith="note ").order_by("note")
    assert [(c.declaration_id, c.to_status, c.by, c.by_key, c.version) for c in written] == [
        (declarations[0].pk, Status.SUBMITTED, organisation.owner, None, None),
        (declarations[1].pk, Status.SUBMITTED, organisation.owner, None, 1),
        (declarations[2].pk, Status.SUBMITTED, organisation.owner, None, 2),
    ]
    assert {c.at for c in written} == {at}
    assert bulk.insert_rows(StatusChange, events.STATUS_CHANGE_FIELDS, []) == 0


def test_insert_rows_takes_json_already_serialised(drafts):
    _organisation, [first, *_rest] = drafts
    hits = [{"rule": 1, "kind": "hs_prefix", "points": 20, "reason": "Watched: «8517»"}]
    row = (first.pk, 1, 20, "green", False, False, json.dumps(hits), timezone.now())
    bulk.insert_rows(RiskScore, risk.SCORE_FIELDS, [row])
    assert RiskScore.objects.get(declaration=first).hits == hits


def test_update_rows_changes_the_rows_and_writes_their_history_with_the_actor(drafts):
    organisation, declarations = drafts
    key, _secret = apikey_create(organisation=organisation, name="Feed", by=None)
    at = timezone.now() + datetime.timedelta(seconds=1)
    first, second, untouched = declarations
    rows = [(first.pk, "yellow", at, None), (second.pk, None, at, at)]
    fields = ("id", "lane", "updated_at", "released_at")
    history = bulk.History(at=at, user_id=None, api_key_id=key.pk)

    assert bulk.update_rows(Declaration, fields, rows, history=history) == 2

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.lane, first.updated_at, first.released_at) == ("yellow", at, None)
    assert (second.lane, second.released_at) == ("", at)  # None left the lane as it was
    for declaration in (first, second):
        latest = declaration.history.first()
        assert (latest.history_type, latest.history_date) == ("~", at)
        assert latest.history_user is None and latest.history_api_key == key
        for field in Declaration._meta.concrete_fields:
            assert getattr(latest, field.attname) == getattr(declaration, field.attname), field
    assert untouched.history.count() == 1  # only the row its creation wrote
    assert bulk.update_rows(Declaration, fields, [], history=history) == 0


def test_update_rows_of_a_model_without_an_api_key_column_and_without_history():
    settings = RiskSettings.current()
    before = settings.history.count()
    user = OrganisationFactory().owner
    at = timezone.now()
    history = bulk.History(at=at, user_id=user.pk)
    assert bulk.update_rows(RiskSettings, ("id", "red_from"), [(settings.pk, 80)], history=history)
    latest = settings.history.first()
    assert (latest.red_from, latest.history_user, latest.history_date) == (80, user, at)
    assert bulk.update_rows(RiskSettings, ("id", "red_from"), [(settings.pk, 90)]) == 1
    assert settings.history.count() == before + 1
    settings.refresh_from_db()
    assert settings.red_from == 90
