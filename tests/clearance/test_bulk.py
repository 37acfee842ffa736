"""Set-based writes: rows from whole columns, and history rows built from the table itself."""

import datetime
import json

import pytest
from django.utils import timezone

from clearance import bulk
from clearance.models import RiskScore, RiskSettings
from declarations import services
from declarations.models import Declaration, Status, StatusChange
from tests.declarations.helpers import declaration_data
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def drafts():
    organisation = OrganisationFactory(name="Bulk Traders")
    actor = services.Actor(user=organisation.owner)
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
    assert bulk.insert_rows(StatusChange, services.STATUS_CHANGE_FIELDS, rows) == 3
    written = StatusChange.objects.filter(note__startswith="note ").order_by("note")
    assert [(c.declaration_id, c.to_status, c.by, c.by_key, c.version) for c in written] == [
        (declarations[0].pk, Status.SUBMITTED, organisation.owner, None, None),
        (declarations[1].pk, Status.SUBMITTED, organisation.owner, None, 1),
        (declarations[2].pk, Status.SUBMITTED, organisation.owner, None, 2),
    ]
    assert {c.at for c in written} == {at}
    assert bulk.insert_rows(StatusChange, services.STATUS_CHANGE_FIELDS, []) == 0


def test_insert_rows_takes_json_already_serialised(drafts):
    _organisation, [first, *_rest] = drafts
    hits = [{"rule": 1, "kind": "hs_prefix", "points": 20, "reason": "Watched: «8517»"}]
    row = (first.pk, 1, 20, "green", False, False, json.dumps(hits), timezone.now())
    bulk.insert_rows(
        RiskScore,
        (
            "declaration",
            "version",
            "points",
            "lane",
            "random_selected",
            "refer",
            "hits",
            "scored_at",
        ),
        [row],
    )
    assert RiskScore.objects.get(declaration=first).hits == hits


def test_record_history_copies_the_rows_as_they_are_with_the_actor(drafts):
    organisation, declarations = drafts
    key, _secret = services.apikey_create(organisation=organisation, name="Feed", by=None)
    at = timezone.now() + datetime.timedelta(seconds=1)
    ids = [d.pk for d in declarations[:2]]
    Declaration.objects.filter(pk__in=ids).update(lane="yellow", updated_at=at)

    assert bulk.record_history(Declaration, ids, at=at, user_id=None, api_key_id=key.pk) == 2

    for declaration in Declaration.objects.filter(pk__in=ids):
        latest = declaration.history.first()
        assert (latest.history_type, latest.history_date) == ("~", at)
        assert latest.history_user is None and latest.history_api_key == key
        for field in Declaration._meta.concrete_fields:
            assert getattr(latest, field.attname) == getattr(declaration, field.attname), field
    untouched = declarations[2]
    assert untouched.history.count() == 1  # only the row its creation wrote


def test_record_history_of_a_model_without_an_api_key_column():
    settings = RiskSettings.current()
    user = OrganisationFactory().owner
    at = timezone.now()
    assert bulk.record_history(RiskSettings, [settings.pk], at=at, user_id=user.pk) == 1
    latest = settings.history.first()
    assert latest.history_user == user and latest.history_date == at
    assert bulk.record_history(RiskSettings, [], at=at, user_id=None) == 0
