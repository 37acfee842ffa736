"""One way to release. The green lane, an officer's decision, a settled payment and a deferred
account all go through ``clearance.review.release``: it refuses a declaration that is not
assessed (or not in the status its caller expects to leave), records the move with its actor,
issues the release notice, queues its PDF and tells the filer."""

import datetime
import threading
import time
import uuid
from unittest import mock

import pytest
from django.db import connection, transaction

from clearance.actors import Actor
from clearance.errors import ServiceError
from clearance.models import Notification, Role
from clearance.review import release
from clearance.review import services as review
from clearance.review.models import ReleaseNotice, ReviewCase
from clearance.risk import scoring as risk
from clearance.risk.models import RiskRule, RiskScore, RiskSettings
from declarations import services
from declarations.models import Declaration, Status
from refunds import payments, statements
from refunds.models import Payment
from tests.conftest import rates_for_today
from tests.declarations.helpers import LINE, declaration_data
from tests.factories import OrganisationFactory, hs_rule, staff_user
from tests.refunds.helpers import callback

EXPENSIVE = {**LINE, "value": "900.00"}  # owes duty and tax in Korea


@pytest.fixture(autouse=True)
def no_random_selection(db):
    RiskSettings.objects.update_or_create(pk=1, defaults={"random_share": 0})


def submit(organisation, actor, **overrides):
    return services.declaration_create(
        organisation=organisation, data=declaration_data(**overrides), submit=True, actor=actor
    )


def watch_headphones():
    hs_rule("8518", 45, "Headphones are watched.")


def sent_documents(send_task: mock.MagicMock) -> list[tuple[object, object]]:
    return [
        (c.kwargs["args"], c.kwargs.get("queue"))
        for c in send_task.call_args_list
        if c.args[0] == "clearance.render_release_notices"
    ]


def assert_released_through_the_service(declaration, send_task, organisation):
    declaration.refresh_from_db()
    assert declaration.status == Status.RELEASED and declaration.released_at is not None
    assert ReleaseNotice.objects.filter(declaration=declaration).exists()
    [(args, queue)] = sent_documents(send_task)
    assert args == ([declaration.pk],) and str(queue).endswith("-documents")
    assert Notification.objects.filter(
        recipient=organisation.owner,
        event="declaration_released",
        context__reference=declaration.system_reference,
    ).exists()
    change = declaration.status_changes.get(to_status=Status.RELEASED)
    assert declaration.history.first().status == Status.RELEASED
    return change


# --- Every path goes through the one service -------------------------------------------------


@pytest.mark.django_db
def test_the_green_lane_releases_through_the_service(
    regime, organisation, actor, django_capture_on_commit_callbacks
):
    declaration = submit(organisation, actor)
    with (
        mock.patch("celery.current_app.send_task") as send_task,
        django_capture_on_commit_callbacks(execute=True),
    ):
        risk.score_declarations([declaration.pk])

    change = assert_released_through_the_service(declaration, send_task, organisation)
    assert change.by is None and declaration.lane == "green"


@pytest.mark.django_db
def test_an_officers_release_goes_through_the_service(
    regime, organisation, actor, django_capture_on_commit_callbacks
):
    watch_headphones()
    declaration = submit(organisation, actor)
    risk.score_declarations([declaration.pk])
    officer = staff_user(Role.OFFICER)
    review.case_claim(case=ReviewCase.objects.get(declaration=declaration), by=officer)
    with (
        mock.patch("celery.current_app.send_task") as send_task,
        django_capture_on_commit_callbacks(execute=True),
    ):
        review.decision_release(declaration=declaration, by=officer, reason="Documents match.")

    change = assert_released_through_the_service(declaration, send_task, organisation)
    assert change.by == officer


@pytest.mark.django_db
def test_a_settled_payment_releases_through_the_service(
    regime, organisation, actor, django_capture_on_commit_callbacks
):
    declaration = submit(organisation, actor, lines=[EXPENSIVE])
    risk.score_declarations([declaration.pk])
    declaration.refresh_from_db()
    assert declaration.status == Status.AWAITING_PAYMENT
    payment, _url = payments.payment_start(declaration=declaration, actor=actor)
    body, headers = callback(payment.reference, payment.amount, payment.currency)
    with (
        mock.patch("celery.current_app.send_task") as send_task,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert payments.callback_receive(headers=headers, raw_body=body) == "settled"

    change = assert_released_through_the_service(declaration, send_task, organisation)
    assert payment.reference in change.note


@pytest.mark.django_db
def test_a_deferred_account_releases_through_the_service(
    regime, actor, django_capture_on_commit_callbacks
):
    platform = OrganisationFactory(name="Deferred Platform", kind="platform")
    statements.deferred_account_open(organisation=platform, by=None)
    declaration = submit(platform, Actor(user=platform.owner), lines=[EXPENSIVE])
    risk.score_declarations([declaration.pk])
    with (
        mock.patch("celery.current_app.send_task") as send_task,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert payments.release_settled(declaration_ids=[declaration.pk]) == 1

    assert_released_through_the_service(declaration, send_task, platform)


# --- A held declaration is never released, by any path ---------------------------------------


@pytest.fixture
def held_rule(db):
    """A value-based rule that would hit a parcel valued at nothing (0.00 per kg)."""
    return RiskRule.objects.create(
        name="Cheap for its weight",
        kind="weight_value",
        params={"min_per_kg": "1000"},
        points=80,
        effective_from=datetime.date(2024, 1, 1),
        reason_template="Value per kg {value} is under {limit}.",
    )


@pytest.mark.django_db
def test_scoring_never_scores_a_held_declaration_nor_runs_value_rules_on_it(
    regime, organisation, actor, held_rule
):
    held = submit(organisation, actor, currency="TWD")  # no TWD rate: held at submission
    assert held.status == Status.HELD
    # Even if something put it back in the scoring queue, scoring refuses to score it.
    Declaration.objects.filter(pk=held.pk).update(status=Status.SUBMITTED)

    assert risk.score_declarations([held.pk]) == 0

    held.refresh_from_db()
    assert held.status == Status.HELD
    assert not RiskScore.objects.filter(declaration=held).exists()
    assert not ReleaseNotice.objects.filter(declaration=held).exists()


@pytest.mark.django_db
def test_an_officer_cannot_release_a_declaration_its_filer_amended_into_a_held_one(
    regime, organisation, actor
):
    watch_headphones()
    declaration = submit(organisation, actor)
    risk.score_declarations([declaration.pk])
    officer = staff_user(Role.OFFICER)
    review.case_claim(case=ReviewCase.objects.get(declaration=declaration), by=officer)
    services.declaration_amend(
        declaration=declaration,
        data=declaration_data(reference=declaration.reference, currency="TWD"),
        actor=actor,
    )

    with pytest.raises(ServiceError, match="cannot be released: it is Held: not yet assessed"):
        review.decision_release(declaration=declaration, by=officer)

    declaration.refresh_from_db()
    assert declaration.status == Status.HELD
    assert not declaration.decisions.exists()


@pytest.mark.django_db
def test_a_payment_settling_after_an_amendment_into_a_held_version_releases_nothing(
    regime, organisation, actor
):
    declaration = submit(organisation, actor, lines=[EXPENSIVE])
    risk.score_declarations([declaration.pk])
    payment, _url = payments.payment_start(
        declaration=Declaration.objects.get(pk=declaration.pk), actor=actor
    )
    services.declaration_amend(
        declaration=declaration,
        data=declaration_data(reference=declaration.reference, currency="TWD", lines=[EXPENSIVE]),
        actor=actor,
    )

    body, headers = callback(payment.reference, payment.amount, payment.currency)
    assert payments.callback_receive(headers=headers, raw_body=body) == "settled"

    declaration.refresh_from_db()
    assert declaration.status == Status.HELD
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.SETTLED  # nothing lost
    assert payments.release_settled(declaration_ids=[declaration.pk]) == 0


@pytest.mark.django_db
def test_a_deferred_account_cannot_release_a_held_declaration(regime, actor):
    platform = OrganisationFactory(name="Deferred Platform", kind="platform")
    statements.deferred_account_open(organisation=platform, by=None)
    held = submit(platform, Actor(user=platform.owner), currency="TWD")

    assert payments.release_settled(declaration_ids=[held.pk]) == 0
    with pytest.raises(ServiceError, match="cannot be released: it is Held"):
        statements.deferred_release(declaration=held, actor=Actor())
    assert Declaration.objects.get(pk=held.pk).status == Status.HELD


@pytest.mark.django_db
def test_the_release_service_says_why_it_refuses(regime, organisation, actor):
    held = submit(organisation, actor, currency="TWD")
    with pytest.raises(ServiceError) as refused:
        release.declaration_release(declaration_id=held.pk, leaving=Status.HELD, actor=Actor())
    assert "it is not assessed yet" in refused.value.message
    unscored = submit(organisation, actor)
    with pytest.raises(ServiceError, match="has not been risk-scored"):
        release.declaration_release(
            declaration_id=unscored.pk, leaving=Status.SUBMITTED, actor=Actor()
        )
    draft = services.declaration_create(
        organisation=organisation, data=declaration_data(), submit=False, actor=actor
    )
    with pytest.raises(ServiceError, match="was never submitted"):
        release.declaration_release(declaration_id=draft.pk, leaving=Status.DRAFT, actor=Actor())


# --- An amendment and a payment arriving together --------------------------------------------


def awaiting_payment_with_a_payment():
    rates_for_today()
    RiskSettings.objects.update_or_create(pk=1, defaults={"random_share": 0})
    organisation = OrganisationFactory(name=f"Race Goods {uuid.uuid4().hex[:8]}")
    actor = Actor(user=organisation.owner)
    declaration = submit(organisation, actor, lines=[EXPENSIVE])
    risk.score_declarations([declaration.pk])
    payment, _url = payments.payment_start(
        declaration=Declaration.objects.get(pk=declaration.pk), actor=actor
    )
    return declaration, payment, actor


def amend(declaration, actor, *, hold_commit=None, moved=None):
    """Amend (a new description: the same amount due) in a thread of its own; with the two
    events, keep the transaction open after the move until told to commit."""
    try:
        lines = [{**EXPENSIVE, "description": "Wireless over-ear headphones"}]
        with transaction.atomic():
            services.declaration_amend(
                declaration=declaration,
                data=declaration_data(reference=declaration.reference, lines=lines),
                actor=actor,
            )
            if moved is not None:
                moved.set()
                hold_commit.wait(10)
        return "amended"
    except ServiceError as error:
        return error.message
    finally:
        connection.close()


def pay(payment, *, hold_commit=None, moved=None):
    body, headers = callback(payment.reference, payment.amount, payment.currency)
    try:
        with transaction.atomic():
            outcome = payments.callback_receive(headers=headers, raw_body=body)
            if moved is not None:
                moved.set()
                hold_commit.wait(10)
        return outcome
    finally:
        connection.close()


def run(*calls):
    results: list[object] = [None] * len(calls)

    def target(i, call):
        results[i] = call()

    threads = [threading.Thread(target=target, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    return threads, results


def never_released_unscored(declaration):
    declaration.refresh_from_db()
    if declaration.status == Status.RELEASED:
        change = declaration.status_changes.get(to_status=Status.RELEASED)
        assert RiskScore.objects.filter(declaration=declaration, version=change.version).exists()


@pytest.mark.django_db(transaction=True)
def test_an_amendment_first_keeps_the_payment_from_releasing_the_unscored_version():
    declaration, payment, actor = awaiting_payment_with_a_payment()
    moved, go = threading.Event(), threading.Event()
    threads, results = run(lambda: amend(declaration, actor, hold_commit=go, moved=moved))
    assert moved.wait(10)
    more, more_results = run(lambda: pay(payment))
    time.sleep(0.5)  # the callback now waits for the declaration's lock
    go.set()
    for thread in threads + more:
        thread.join(20)

    assert results == ["amended"] and more_results == ["settled"]
    declaration.refresh_from_db()
    assert (declaration.status, declaration.version) == (Status.SUBMITTED, 2)
    assert not declaration.status_changes.filter(to_status=Status.RELEASED).exists()
    # Scored, the new version is sent to payment; what was paid covers it, so it is released.
    risk.score_declarations([declaration.pk])
    assert payments.release_settled(declaration_ids=[declaration.pk]) == 1
    declaration.refresh_from_db()
    assert (declaration.status, declaration.version) == (Status.RELEASED, 2)
    never_released_unscored(declaration)


@pytest.mark.django_db(transaction=True)
def test_a_payment_first_releases_the_scored_version_and_the_amendment_is_refused():
    declaration, payment, actor = awaiting_payment_with_a_payment()
    moved, go = threading.Event(), threading.Event()
    threads, results = run(lambda: pay(payment, hold_commit=go, moved=moved))
    assert moved.wait(10)
    more, more_results = run(lambda: amend(declaration, actor))
    time.sleep(0.5)  # the amendment now waits for the declaration's lock
    go.set()
    for thread in threads + more:
        thread.join(20)

    assert results == ["settled"]
    assert "can be amended" in str(more_results[0])
    declaration.refresh_from_db()
    assert (declaration.status, declaration.version) == (Status.RELEASED, 1)
    never_released_unscored(declaration)


@pytest.mark.django_db(transaction=True)
def test_an_amendment_and_a_payment_sent_together_never_release_an_unscored_version():
    for _round in range(5):
        declaration, payment, actor = awaiting_payment_with_a_payment()
        start = threading.Barrier(2)

        def amending(d=declaration, a=actor, start=start):
            start.wait()
            return amend(d, a)

        def paying(p=payment, start=start):
            start.wait()
            return pay(p)

        threads, results = run(amending, paying)
        for thread in threads:
            thread.join(20)
        assert results[1] == "settled"
        never_released_unscored(declaration)
        assert Payment.objects.get(pk=payment.pk).status == Payment.Status.SETTLED


@pytest.mark.django_db
def test_rendering_a_batchs_notices_hands_the_rest_back_after_its_slice_of_time(
    regime, organisation, actor, monkeypatch, django_capture_on_commit_callbacks
):
    from clearance.review import tasks

    consignees = [
        {"name": f"Buyer {n}", "address": "1 Road", "country": "KR", "id_number": f"P{n:012d}"}
        for n in range(3)
    ]  # three buyers: no split shipment
    ids = [submit(organisation, actor, consignee=c).pk for c in consignees]
    risk.score_declarations(ids)
    assert set(Declaration.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        Status.RELEASED
    }
    monkeypatch.setattr(tasks, "RENDER_SLICE_SECONDS", 0)  # every slice ends after one PDF
    with (
        mock.patch("celery.current_app.send_task") as send_task,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert tasks.render_release_notices(sorted(ids)) == 1

    rendered = [pk for pk in ids if ReleaseNotice.objects.get(declaration_id=pk).file]
    assert rendered == [min(ids)]
    [(args, queue)] = sent_documents(send_task)
    assert args == (sorted(ids)[1:],) and str(queue).endswith("-documents")
