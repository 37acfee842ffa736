"""The event feed: every change a filer may see, written with the change, read in order from
any cursor, and never with risk data."""

import json
import threading

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from clearance.actors import Actor
from clearance.risk import scoring as risk
from clearance.risk.models import RiskSettings
from declarations import events, services
from declarations.models import Declaration, Event, Status
from tests.conftest import rates_for_today, wait_for
from tests.declarations.helpers import LINE, submit
from tests.factories import hs_rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def regime(db):
    rates_for_today()
    RiskSettings.objects.update_or_create(pk=1, defaults={"random_share": 0})


def read(api, after=None, limit=None):
    params = {k: v for k, v in (("after", after), ("limit", limit)) if v is not None}
    response = api.get("/api/v1/events/", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_a_filers_declarations_tell_their_story_in_order(regime, organisation, actor, api):
    cleared = submit(organisation, actor)
    risk.score_declarations(cleared)
    hs_rule("8518", 40, "Watched goods: HS {value}.", "Watched speakers")
    reviewed = submit(organisation, actor, lines=[LINE])
    risk.score_declarations(reviewed)

    page = read(api)
    story = [(e["declaration"]["id"], e["type"], e["state"]) for e in page["results"]]
    assert story == [
        (cleared[0], "declaration.submitted", Status.SUBMITTED),
        (cleared[0], "declaration.released", Status.RELEASED),
        (reviewed[0], "declaration.submitted", Status.SUBMITTED),
        (reviewed[0], "declaration.under_review", Status.UNDER_REVIEW),
    ]
    first = page["results"][0]
    declaration = Declaration.objects.get(pk=cleared[0])
    assert first["declaration"] == {
        "id": declaration.pk,
        "system_reference": declaration.system_reference,
        "reference": declaration.reference,
        "transport_document": declaration.transport_document,
    }
    assert first["refund"] is None and first["reason"] == ""


def test_the_feed_gives_the_same_events_in_the_same_order_from_any_cursor(
    regime, organisation, actor, api
):
    submit(organisation, actor, count=3)
    first = read(api, limit=2)
    assert len(first["results"]) == 2
    rest = read(api, after=first["next"])
    again = read(api, after=first["next"])
    assert rest == again and len(rest["results"]) == 1
    everything = read(api)
    assert everything["results"] == first["results"] + rest["results"]
    # At the end, the cursor stays where it is until something happens.
    assert read(api, after=rest["next"]) == {"results": [], "next": rest["next"]}
    [pk] = submit(organisation, actor)
    [news] = read(api, after=rest["next"])["results"]
    assert (news["declaration"]["id"], news["type"]) == (pk, "declaration.submitted")


def test_events_carry_no_risk_data(regime, organisation, actor, api):
    hs_rule("8518", 90, "Secret watch rule on HS {value}.", "Confidential speaker rule")
    ids = submit(organisation, actor, lines=[LINE])
    risk.score_declarations(ids)
    results = read(api)["results"]
    assert results[-1]["type"] == "declaration.under_review"
    keys, values = set(), set()

    def walk(item):
        if isinstance(item, dict):
            keys.update(item)
            for value in item.values():
                walk(value)
        elif isinstance(item, list):
            for value in item:
                walk(value)
        else:
            values.add(str(item).lower())

    walk(results)
    assert keys == {
        "id", "type", "occurred_at", "declaration", "state", "reason", "refund",
        "system_reference", "reference", "transport_document",
    }  # fmt: skip
    assert not values & {"red", "yellow", "green"}
    body = json.dumps(results).lower()
    assert "confidential speaker rule" not in body and "secret watch rule" not in body


def test_a_held_declaration_says_why(organisation, actor, api):
    rates_for_today()
    [pk] = submit(organisation, actor, currency="TWD")
    [event] = read(api)["results"]
    assert event["declaration"]["id"] == pk
    assert (event["type"], event["state"]) == ("declaration.held", Status.HELD)
    assert "TWD" in event["reason"]


def test_an_officers_steps_and_a_refund_are_events(regime, organisation, actor, api):
    [pk] = submit(organisation, actor)
    declaration = Declaration.objects.get(pk=pk)
    services.declaration_transition(
        declaration=declaration, leaving=Status.SUBMITTED, to=Status.UNDER_REVIEW, actor=Actor()
    )
    services.declaration_transition(
        declaration=declaration,
        leaving=Status.UNDER_REVIEW,
        to=Status.REJECTED,
        actor=Actor(),
        note="Officer's private note",
    )
    events.record_refund(
        organisation_id=organisation.pk,
        declaration_id=pk,
        refund_id=7,
        status="under_review",
        at=declaration.updated_at,
    )
    results = read(api)["results"]
    assert [e["type"] for e in results] == [
        "declaration.submitted",
        "declaration.under_review",
        "declaration.rejected",
        "refund.under_review",
    ]
    assert results[-1]["refund"] == 7
    assert "private note" not in json.dumps(results)


def test_a_change_that_rolls_back_leaves_no_event(regime, organisation, actor):
    [pk] = submit(organisation, actor)
    before = Event.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.declaration_transition(
            declaration=Declaration.objects.get(pk=pk),
            leaving=Status.SUBMITTED,
            to=Status.UNDER_REVIEW,
            actor=Actor(),
        )
        raise RuntimeError
    assert Event.objects.count() == before


def test_another_organisations_events_are_not_shown(
    regime, organisation, other_organisation, actor, api
):
    submit(other_organisation, Actor(user=other_organisation.owner))
    assert read(api)["results"] == []


def test_a_bad_cursor_or_limit_is_refused_by_name(api):
    response = api.get("/api/v1/events/", {"after": "not a cursor!"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "after"
    response = api.get("/api/v1/events/", {"limit": "0"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "limit"


def test_a_cursor_of_the_right_shape_the_feed_never_gave_is_a_422(api):
    response = api.get("/api/v1/events/", {"after": "AAAA"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "after"
    assert response.json()["errors"][0]["code"] == "unknown_cursor"


def test_without_a_key_the_feed_is_refused():
    assert APIClient().get("/api/v1/events/").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_an_event_never_appears_behind_a_cursor_already_read(regime, organisation, actor, api):
    """A transaction that began first but commits last: its event is held back until it
    commits, then comes before the later ones, and a cursor read in between misses nothing."""
    [slow, fast] = submit(organisation, actor, count=2)
    # Transactions elsewhere on the server may hold events back for a moment.
    start = wait_for(lambda: len(read(api)["results"]) == 2 and read(api))["next"]
    written, release = threading.Event(), threading.Event()

    def slow_writer():
        with transaction.atomic():
            services.declaration_transition(
                declaration=Declaration.objects.get(pk=slow),
                leaving=Status.SUBMITTED,
                to=Status.UNDER_REVIEW,
                actor=Actor(),
            )
            written.set()
            release.wait(30)
        connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert written.wait(30)
    services.declaration_transition(
        declaration=Declaration.objects.get(pk=fast),
        leaving=Status.SUBMITTED,
        to=Status.UNDER_REVIEW,
        actor=Actor(),
    )
    # The later change has committed, but the earlier transaction is still open: nothing yet.
    middle = read(api, after=start)
    assert middle == {"results": [], "next": start}
    release.set()
    thread.join(30)
    after = wait_for(lambda: len(read(api, after=start)["results"]) == 2 and read(api, after=start))
    assert [e["declaration"]["id"] for e in after["results"]] == [slow, fast]
