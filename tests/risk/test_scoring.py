"""Scoring submitted declarations and moving them on (the worker's code, run in the test)."""

import datetime
import gc
import threading
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection, transaction
from django.utils import timezone

from clearance.actors import Actor
from clearance.models import Notification
from clearance.review.models import Queue, ReleaseNotice, ReviewCase
from clearance.risk import history as risk_history
from clearance.risk import scoring as risk
from clearance.risk.models import RiskScore, RiskSettings
from declarations import services
from declarations.models import Declaration, Status
from tests.declarations.helpers import LINE, declaration_data, submit
from tests.factories import OrganisationFactory, hs_rule

pytestmark = pytest.mark.django_db


def rule(prefix, points, name=None):
    return hs_rule(prefix, points, "Watched goods: HS {value}.", name or "")


@pytest.fixture(autouse=True)
def no_random_selection(db):
    RiskSettings.objects.update_or_create(pk=1, defaults={"random_share": 0})


def test_a_low_risk_parcel_with_nothing_due_is_released_by_the_system(regime, organisation, actor):
    [pk] = submit(organisation, actor)
    assert risk.score_declarations([pk]) == 1
    declaration = Declaration.objects.get(pk=pk)
    assert (declaration.status, declaration.lane) == (Status.RELEASED, "green")
    assert declaration.released_at is not None
    change = declaration.status_changes.get(to_status=Status.RELEASED)
    assert change.by is None and change.by_key is None
    assert str(change.actor) == "the system"
    assert declaration.history.first().status == Status.RELEASED
    # Released through the one release service: its notice is issued, and the filer is told
    # (by email too, as one declaration was released).
    assert ReleaseNotice.objects.filter(declaration=declaration).exists()
    [notice] = Notification.objects.filter(recipient=organisation.owner)
    assert notice.event == "declaration_released"
    assert declaration.system_reference in notice.body
    assert notice.email_status == Notification.EmailStatus.PENDING


def test_a_low_risk_parcel_with_something_due_waits_for_payment(regime, organisation, actor):
    expensive = {**LINE, "value": "900.00"}
    [pk] = submit(organisation, actor, lines=[expensive])
    risk.score_declarations([pk])
    declaration = Declaration.objects.get(pk=pk)
    assert declaration.versions.get().total_due > 0
    assert (declaration.status, declaration.lane) == (Status.AWAITING_PAYMENT, "green")


def test_sending_to_payment_asks_payments_to_release_what_needs_no_payment(
    regime, organisation, actor, django_capture_on_commit_callbacks
):
    expensive = {**LINE, "value": "900.00"}
    [pk] = submit(organisation, actor, lines=[expensive])
    with (
        mock.patch("celery.current_app.send_task") as send_task,
        django_capture_on_commit_callbacks(execute=True),
    ):
        risk.score_declarations([pk])
    send_task.assert_any_call("refunds.release_settled", args=([pk],))


def test_yellow_and_red_go_to_their_queues_with_a_due_time(regime, organisation, actor):
    rule("8518", 40)
    rule("6109", 40)
    yellow, red = submit(organisation, actor, lines=[LINE]), submit(organisation, actor)
    risk.score_declarations(yellow + red)
    cases = {c.declaration_id: c for c in ReviewCase.objects.all()}
    assert cases[yellow[0]].queue == Queue.DOCUMENT_CHECK
    assert cases[red[0]].queue == Queue.INSPECTION
    declaration = Declaration.objects.get(pk=red[0])
    assert (declaration.status, declaration.lane) == (Status.UNDER_REVIEW, "red")
    hours = RiskSettings.current().review_hours
    assert cases[red[0]].due_at == declaration.submitted_at + datetime.timedelta(hours=hours)


def test_a_score_keeps_its_hits_with_points_and_reasons(regime, organisation, actor):
    watched = rule("8518", 40)
    [pk] = submit(organisation, actor, lines=[LINE])
    risk.score_declarations([pk])
    score = RiskScore.objects.get(declaration_id=pk)
    hit = next(h for h in score.hits if h["rule"] == watched.pk)
    assert hit == {
        "rule": watched.pk,
        "kind": "hs_prefix",
        "points": 40,
        "reason": "Watched goods: HS 851830.",
        "refer": False,
    }
    assert score.points == sum(h["points"] for h in score.hits)


def test_scoring_again_changes_nothing(regime, organisation, actor):
    rule("8518", 40)
    ids = submit(organisation, actor, count=5)
    assert risk.score_declarations(ids) == 5
    before = list(
        Declaration.objects.filter(pk__in=ids).values_list("status", "lane", "updated_at")
    )
    assert risk.score_declarations(ids) == 0
    after = list(Declaration.objects.filter(pk__in=ids).values_list("status", "lane", "updated_at"))
    assert before == after
    assert RiskScore.objects.count() == 5
    assert ReviewCase.objects.count() == 5


def test_an_amended_declaration_is_scored_again_and_its_case_reopens(regime, organisation, actor):
    rule("8518", 40)
    [pk] = submit(organisation, actor)
    risk.score_declarations([pk])
    declaration = Declaration.objects.get(pk=pk)
    data = declaration_data(reference=declaration.reference)
    services.declaration_amend(declaration=declaration, data=data, actor=actor)
    assert risk.score_declarations([pk]) == 1
    assert sorted(
        RiskScore.objects.filter(declaration_id=pk).values_list("version", flat=True)
    ) == [
        1,
        2,
    ]
    assert ReviewCase.objects.get(declaration_id=pk).closed_at is None


def test_the_default_rules_score_the_first_declarations_of_a_new_filer(regime, organisation, actor):
    ids = submit(organisation, actor, count=4)
    risk.score_declarations(ids)
    kinds = [
        {h["kind"] for h in RiskScore.objects.get(declaration_id=pk).hits} for pk in sorted(ids)
    ]
    assert ["new_filer" in k for k in kinds] == [True, True, True, False]


def test_split_shipments_to_one_consignee_are_seen_across_a_batch(regime, organisation, actor):
    ids = submit(organisation, actor, count=3)
    risk.score_declarations(ids)
    hit = [
        any(h["kind"] == "split_shipment" for h in RiskScore.objects.get(declaration_id=pk).hits)
        for pk in sorted(ids)
    ]
    assert all(hit)


def test_a_submission_queues_scoring_by_task_name_after_commit(
    regime, organisation, actor, django_capture_on_commit_callbacks
):
    with mock.patch("celery.current_app.send_task") as send_task:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            ids = submit(organisation, actor, count=3)
        send_task.assert_not_called()
        for callback in callbacks:
            callback()
    send_task.assert_called_once_with("clearance.score_declarations", args=(ids,))


def test_the_sweeper_finds_declarations_left_unscored(regime, organisation, actor):
    ids = submit(organisation, actor, count=2)
    Declaration.objects.filter(pk=ids[0]).update(
        updated_at=timezone.now() - datetime.timedelta(minutes=10)
    )
    assert risk.unscored(datetime.timedelta(minutes=3)) == [ids[0]]
    risk.score_declarations(ids)
    assert risk.unscored(datetime.timedelta(minutes=3)) == []


def test_reference_prices_come_from_released_history_with_enough_samples(
    regime, organisation, actor
):
    from clearance.risk.models import ReferencePrice

    ids = submit(organisation, actor, count=4)
    risk.score_declarations(ids)
    Declaration.objects.filter(pk__in=ids).update(status=Status.RELEASED)
    assert risk_history.reference_prices_refresh(min_samples=5) == 0
    assert risk_history.reference_prices_refresh(min_samples=4) == 2
    price = ReferencePrice.objects.get(hs6="851830")
    version = Declaration.objects.get(pk=ids[0]).versions.get()
    value = Decimal(version.assessment["lines"][0]["customs_value"])
    assert price.source == "history" and price.samples == 4
    assert price.per_kg == (value / Decimal("0.6")).quantize(Decimal("0.0001"))
    assert price.per_unit == (value / 2).quantize(Decimal("0.0001"))


def test_one_at_a_time_submissions_are_scored_together_by_the_first_task(
    regime, organisation, actor
):
    from clearance.risk import tasks

    ids = [submit(organisation, actor)[0] for _ in range(4)]  # four submissions, four tasks
    assert tasks.score_declarations([ids[2]]) == 4
    assert set(RiskScore.objects.values_list("declaration_id", flat=True)) == set(ids)
    assert [tasks.score_declarations([pk]) for pk in ids] == [0, 0, 0, 0]


@pytest.mark.django_db(transaction=True)
def test_taking_waiting_declarations_along_skips_those_another_worker_holds(
    regime, organisation, actor
):
    first, held, third = (submit(organisation, actor)[0] for _ in range(3))
    locked, release = threading.Event(), threading.Event()

    def other_worker():
        try:
            with transaction.atomic():
                list(services.lock_many([held]))
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert locked.wait(30)
        assert risk.score_declarations([first], and_waiting=10) == 2  # without waiting
    finally:
        release.set()
        thread.join()
    assert set(RiskScore.objects.values_list("declaration_id", flat=True)) == {first, third}
    assert Declaration.objects.get(pk=held).status == Status.SUBMITTED


def test_the_cycle_collector_is_paused_while_scoring_and_restored_after(
    regime, organisation, actor
):
    ids = submit(organisation, actor, count=2)
    evaluate = risk.evaluate
    during = []

    def watching(*args):
        during.append(gc.isenabled())
        return evaluate(*args)

    with mock.patch.object(risk, "evaluate", watching):
        assert risk.score_declarations(ids) == 2
    assert during == [False, False]
    assert gc.isenabled()


def test_the_first_declarations_of_many_filers_are_found_in_one_query(
    regime, django_assert_num_queries
):
    filers = [OrganisationFactory(name=f"Filer {n}") for n in range(3)]
    ids = {
        filer.pk: submit(filer, Actor(user=filer.owner), count=n + 2)
        for n, filer in enumerate(filers)
    }
    with django_assert_num_queries(1):
        positions = risk._filer_positions({filer.pk for filer in filers}, first=3)
    expected = {pk: n for filed in ids.values() for n, pk in enumerate(filed[:3], start=1)}
    assert positions == expected
