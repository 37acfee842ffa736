"""Held declarations: submitted when no regime or exchange rate was in force on their date, never
scored or released until assessed, and assessed again on their own, on their own date, when what
they wait for arrives. And the aggregation rules look back as far as each regime says."""

import datetime
import io
from decimal import Decimal
from unittest import mock

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from clearance.actors import Actor
from clearance.exchange_rates import rates_import
from clearance.presets import load_presets
from declarations import services
from declarations.models import Declaration, Status
from tests.declarations.helpers import LINE, declaration_data

pytestmark = pytest.mark.django_db


def publish(day: datetime.date, usd: str = "1.10", krw: str = "1650") -> None:
    rates_import(
        io.StringIO(f"date,currency,rate\n{day},USD,{usd}\n{day},KRW,{krw}\n"), source="test feed"
    )


@pytest.fixture
def presets(db):
    load_presets()


def sent(send_task: mock.MagicMock, name: str) -> list[object]:
    return [c.kwargs.get("args") for c in send_task.call_args_list if c.args[0] == name]


def test_a_parcel_without_a_rate_is_held_with_the_reason_and_not_scored(
    presets, organisation, actor, django_capture_on_commit_callbacks
):
    with (
        mock.patch("celery.current_app.send_task") as send_task,
        django_capture_on_commit_callbacks(execute=True),
    ):
        declaration = services.declaration_create(
            organisation=organisation, data=declaration_data(), submit=True, actor=actor
        )

    assert declaration.status == Status.HELD
    version = declaration.versions.get()
    assert version.held and version.total_due == 0
    today = timezone.localdate()
    reason = f"No exchange rate from USD to KRW is in force on {today}"
    assert reason in version.assessment["hold_reason"]
    change = declaration.status_changes.get(to_status=Status.HELD)
    assert reason in change.note
    assert sent(send_task, "clearance.score_declarations") == []


def test_the_rate_arriving_assesses_it_again_and_sends_it_to_scoring(
    presets, organisation, actor, django_capture_on_commit_callbacks
):
    declaration = services.declaration_create(
        organisation=organisation, data=declaration_data(), submit=True, actor=actor
    )
    with (
        mock.patch("celery.current_app.send_task") as send_task,
        django_capture_on_commit_callbacks(execute=True),
    ):
        publish(timezone.localdate())
    assert sent(send_task, "declarations.reassess_held") == [()]

    with (
        mock.patch("celery.current_app.send_task") as send_task,
        django_capture_on_commit_callbacks(execute=True),
    ):
        moved, _last = services.held_reassess()

    assert moved == 1
    declaration.refresh_from_db()
    assert (declaration.status, declaration.version) == (Status.SUBMITTED, 2)
    version = declaration.versions.get(number=2)
    assert not version.held and version.customs_value > 0
    assert version.data == declaration.versions.get(number=1).data
    change = declaration.status_changes.get(from_status=Status.HELD, to_status=Status.SUBMITTED)
    assert change.by is None and str(change.actor) == "the system"
    assert declaration.history.first().status == Status.SUBMITTED
    assert sent(send_task, "clearance.score_declarations") == [([declaration.pk],)]


def test_it_is_assessed_on_the_day_it_was_submitted_at_that_days_rate(presets, organisation, actor):
    submitted_on = datetime.date(2026, 11, 20)
    with time_machine.travel("2026-11-20 10:00 +0900", tick=False):
        declaration = services.declaration_create(
            organisation=organisation, data=declaration_data(), submit=True, actor=actor
        )
    assert declaration.status == Status.HELD
    publish(submitted_on, usd="1", krw="1500")  # that day's rate, published late
    publish(timezone.localdate(), usd="1", krw="9999")  # today's, which must not apply

    services.held_reassess()

    assessment = Declaration.objects.get(pk=declaration.pk).versions.get(number=2).assessment
    assert assessment["date"] == submitted_on.isoformat()
    assert assessment["exchange_rates"]["USD"] == "1500"


def test_one_still_waiting_stays_held_with_no_new_version(presets, organisation, actor):
    declaration = services.declaration_create(
        organisation=organisation, data=declaration_data(currency="TWD"), submit=True, actor=actor
    )
    publish(timezone.localdate())  # no TWD among them

    assert services.held_reassess() == (0, declaration.pk)
    declaration.refresh_from_db()
    assert (declaration.status, declaration.version) == (Status.HELD, 1)


def test_a_regime_arriving_assesses_those_held_for_want_of_one(
    organisation, actor, django_capture_on_commit_callbacks
):
    publish(timezone.localdate())
    declaration = services.declaration_create(
        organisation=organisation, data=declaration_data(), submit=True, actor=actor
    )
    assert "No low-value regime for KR" in declaration.versions.get().assessment["hold_reason"]
    with (
        mock.patch("celery.current_app.send_task") as send_task,
        django_capture_on_commit_callbacks(execute=True),
    ):
        load_presets()
    assert sent(send_task, "declarations.reassess_held")

    services.held_reassess()

    assert Declaration.objects.get(pk=declaration.pk).status == Status.SUBMITTED


def test_the_filer_may_amend_or_cancel_a_held_declaration(presets, organisation, actor):
    publish(timezone.localdate())  # USD is quoted, TWD is not
    declaration = services.declaration_create(
        organisation=organisation,
        data=declaration_data(currency="TWD", reference="A1"),
        submit=True,
        actor=actor,
    )
    assert declaration.status == Status.HELD
    amended = services.declaration_amend(
        declaration=declaration, data=declaration_data(reference="A1"), actor=actor
    )
    assert (amended.status, amended.version) == (Status.SUBMITTED, 2)
    held_again = services.declaration_amend(
        declaration=amended, data=declaration_data(currency="TWD", reference="A1"), actor=actor
    )
    assert (held_again.status, held_again.version) == (Status.HELD, 3)
    cancelled = services.declaration_cancel(declaration=held_again, actor=actor)
    assert cancelled.status == Status.CANCELLED


def test_the_api_shows_a_held_declaration_and_why(presets, organisation, api_key):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.secret}")
    answer = api.post(
        "/api/v1/declarations/", {**declaration_data(), "submit": True}, format="json"
    )
    assert answer.status_code == 201, answer.content
    body = api.get(f"/api/v1/declarations/{answer.json()['id']}/").json()
    assert body["status"] == "held"
    assert body["assessment"]["held"] is True
    assert "No exchange rate from USD to KRW" in body["assessment"]["hold_reason"]


# --- How far back the aggregation rules look -------------------------------------------------


def parcels_for(organisation, actor, *, currency, value, days, consignee="C-1"):
    """One parcel a day on each of ``days`` for the same consignee."""
    made = []
    for day in days:
        with time_machine.travel(f"{day} 10:00 +0800", tick=False):
            made.append(
                services.declaration_create(
                    organisation=organisation,
                    data=declaration_data(
                        currency=currency,
                        lines=[{**LINE, "value": value, "quantity": "1"}],
                        consignee={
                            "name": "Wang Fang",
                            "address": "1 Road",
                            "country": "CN",
                            "id_number": consignee,
                        },
                        transport_mode="postal",
                    ),
                    submit=True,
                    actor=Actor(user=actor.user),
                )
            )
    return made


def test_chinas_yearly_cap_counts_the_parcels_of_the_whole_year(
    presets, organisation, actor, settings
):
    settings.PORTAL_ECONOMY = "CN"
    january = [f"2026-01-{d:02d}" for d in (5, 6, 7, 8, 9)]
    parcels_for(organisation, actor, currency="CNY", value="4500", days=january)  # 22,500

    [november] = parcels_for(organisation, actor, currency="CNY", value="4000", days=["2026-11-20"])

    assessment = november.versions.get().assessment
    assert not assessment["eligible"]
    [cap] = [r for r in assessment["reasons"] if r["code"] == "over_period_value_cap"]
    assert "26,500" in cap["message"] and "26,000" in cap["message"]
    # Another consignee's parcel the same day is within the cap.
    [other] = parcels_for(
        organisation, actor, currency="CNY", value="4000", days=["2026-11-20"], consignee="C-2"
    )
    assert other.versions.get().assessment["eligible"]


def test_chinese_taipeis_six_parcels_count_over_the_half_year(
    presets, organisation, actor, settings
):
    settings.PORTAL_ECONOMY = "TW"
    months = ["2026-07-03", "2026-08-03", "2026-09-03", "2026-10-03", "2026-11-03", "2026-11-20"]
    made = parcels_for(organisation, actor, currency="TWD", value="500", days=months)
    assert all(p.versions.get().assessment["eligible"] for p in made)

    [seventh] = parcels_for(organisation, actor, currency="TWD", value="500", days=["2026-12-01"])

    reasons = seventh.versions.get().assessment["reasons"]
    assert any(
        r["code"] == "over_period_count_cap" and "Parcel number 7" in r["message"] for r in reasons
    )
    assert Decimal(seventh.versions.get().total_due) > 0
