"""Filing through the services: create, update, submit, amend, cancel, copy, with history."""

import pytest

from clearance.actors import Actor
from clearance.errors import Invalid, ServiceError
from declarations import services
from declarations.models import Declaration, Status, StatusChange, check_transition
from tests.declarations.helpers import declaration_data

pytestmark = pytest.mark.django_db


def test_a_draft_is_created_with_a_readable_system_reference_and_its_history(
    organisation, owner, actor
):
    declaration = services.declaration_create(
        organisation=organisation, data=declaration_data(), submit=False, actor=actor
    )
    assert declaration.status == Status.DRAFT
    assert declaration.system_reference.startswith("LV-")
    assert len(declaration.system_reference) == len("LV-2026-0000001")
    assert declaration.lines.count() == 2
    [history] = declaration.history.all()
    assert history.history_user == owner
    assert history.history_type == "+"
    [change] = declaration.status_changes.all()
    assert (change.from_status, change.to_status, change.by) == ("", Status.DRAFT, owner)


def test_the_reference_is_unique_in_an_organisation_only(organisation, other_organisation, actor):
    data = declaration_data(reference="SAME-1")
    services.declaration_create(organisation=organisation, data=data, submit=False, actor=actor)
    with pytest.raises(Invalid) as raised:
        services.declaration_create(organisation=organisation, data=data, submit=False, actor=actor)
    assert raised.value.errors[0].field == "reference"
    services.declaration_create(
        organisation=other_organisation, data=data, submit=False, actor=Actor()
    )
    assert Declaration.objects.filter(reference="SAME-1").count() == 2


def test_submitting_freezes_a_version_with_its_assessment(organisation, owner, actor, rates_today):
    declaration = services.declaration_create(
        organisation=organisation, data=declaration_data(), submit=False, actor=actor
    )
    services.declaration_submit(declaration=declaration, actor=actor)
    declaration.refresh_from_db()
    assert declaration.status == Status.SUBMITTED
    assert declaration.version == 1
    assert declaration.submitted_at is not None
    [version] = declaration.versions.all()
    assert version.data["lines"][0]["hs_code"] == "851830"
    assert version.data["shipping_cost"] == "5.00"
    assert {"eligible", "held", "total_due", "customs_value"} <= set(version.assessment)
    assert version.created_by == owner
    moves = [(c.from_status, c.to_status) for c in declaration.status_changes.all()]
    assert moves == [("", Status.DRAFT), (Status.DRAFT, Status.SUBMITTED)]
    assert declaration.history.latest().history_user == owner


def test_an_incomplete_draft_cannot_be_submitted(organisation, actor):
    declaration = services.declaration_create(
        organisation=organisation,
        data={"reference": "HALF-1", "lines": [{"description": "Leather wallet"}]},
        submit=False,
        actor=actor,
    )
    with pytest.raises(Invalid) as raised:
        services.declaration_submit(declaration=declaration, actor=actor)
    fields = {e.field for e in raised.value.errors}
    assert {"currency", "lines[0].hs_code", "seller.name"} <= fields
    declaration.refresh_from_db()
    assert declaration.status == Status.DRAFT
    assert not declaration.versions.exists()


def test_a_draft_is_updated_and_its_lines_replaced(organisation, owner, actor):
    declaration = services.declaration_create(
        organisation=organisation, data=declaration_data(), submit=False, actor=actor
    )
    data = declaration_data(reference=declaration.reference, carrier="Slow Post")
    data["lines"] = data["lines"][:1]
    services.declaration_update(declaration=declaration, data=data, actor=actor)
    declaration.refresh_from_db()
    assert declaration.carrier == "Slow Post"
    assert declaration.lines.count() == 1
    assert declaration.history.count() == 2
    assert declaration.history.latest().history_user == owner


def test_an_amendment_before_release_makes_the_next_version(
    organisation, owner, actor, rates_today
):
    declaration = services.declaration_create(
        organisation=organisation, data=declaration_data(), submit=True, actor=actor
    )
    data = declaration_data(reference=declaration.reference)
    data["lines"][0]["quantity"] = "3"
    services.declaration_amend(declaration=declaration, data=data, actor=actor)
    declaration.refresh_from_db()
    assert declaration.version == 2
    assert [v.number for v in declaration.versions.all()] == [1, 2]
    assert declaration.versions.get(number=1).data["lines"][0]["quantity"] == "2"
    assert declaration.versions.get(number=2).data["lines"][0]["quantity"] == "3"
    last = declaration.status_changes.last()
    assert last is not None
    assert (last.from_status, last.to_status, last.note, last.by) == (
        Status.SUBMITTED,
        Status.SUBMITTED,
        "Amended",
        owner,
    )


def test_a_draft_cannot_be_amended_nor_a_submitted_one_edited(organisation, actor):
    draft = services.declaration_create(
        organisation=organisation, data=declaration_data(), submit=False, actor=actor
    )
    with pytest.raises(ServiceError):
        services.declaration_amend(declaration=draft, data=declaration_data(), actor=actor)
    submitted = services.declaration_create(
        organisation=organisation, data=declaration_data(), submit=True, actor=actor
    )
    with pytest.raises(ServiceError):
        services.declaration_update(declaration=submitted, data=declaration_data(), actor=actor)


def test_the_filer_cancels_before_release_but_not_after(organisation, owner, actor, rates_today):
    declaration = services.declaration_create(
        organisation=organisation, data=declaration_data(), submit=True, actor=actor
    )
    services.declaration_cancel(declaration=declaration, actor=actor)
    declaration.refresh_from_db()
    assert declaration.status == Status.CANCELLED
    assert declaration.cancelled_at is not None
    assert declaration.history.latest().history_user == owner
    released = services.declaration_create(
        organisation=organisation, data=declaration_data(), submit=True, actor=actor
    )
    # Given goods released (only the release service releases; this app cannot).
    Declaration.objects.filter(pk=released.pk).update(status=Status.RELEASED)
    with pytest.raises(ServiceError) as raised:
        services.declaration_cancel(declaration=released, actor=actor)
    assert raised.value.code == "invalid_transition"


def test_the_filing_services_never_release(organisation, actor, rates_today):
    declaration = services.declaration_create(
        organisation=organisation, data=declaration_data(), submit=True, actor=actor
    )
    with pytest.raises(ServiceError, match="only by the release service"):
        services.declaration_transition(
            declaration=declaration, leaving=Status.SUBMITTED, to=Status.RELEASED, actor=Actor()
        )
    declaration.refresh_from_db()
    assert declaration.status == Status.SUBMITTED


def test_the_guard_refuses_moves_the_table_does_not_list():
    check_transition(Status.DRAFT, Status.SUBMITTED)
    for current, target in [
        (Status.DRAFT, Status.RELEASED),
        (Status.RELEASED, Status.CANCELLED),
        (Status.CANCELLED, Status.SUBMITTED),
    ]:
        with pytest.raises(ServiceError):
            check_transition(current, target)


def test_copying_makes_a_new_draft_with_its_own_reference(organisation, owner, actor):
    source = services.declaration_create(
        organisation=organisation, data=declaration_data(reference="ORIG"), submit=True, actor=actor
    )
    first = services.declaration_copy(source=source, actor=actor)
    second = services.declaration_copy(source=source, actor=actor)
    assert (first.reference, second.reference) == ("ORIG-C1", "ORIG-C2")
    assert first.status == Status.DRAFT
    assert first.lines.count() == 2
    assert first.system_reference != source.system_reference


def test_a_change_made_with_an_api_key_names_the_key_in_history(organisation, api_key):
    key_actor = Actor(api_key=api_key)
    declaration = services.declaration_create(
        organisation=organisation, data=declaration_data(), submit=True, actor=key_actor
    )
    services.declaration_cancel(declaration=declaration, actor=key_actor)
    assert {h.history_api_key for h in declaration.history.all()} == {api_key}
    assert {c.by_key for c in StatusChange.objects.filter(declaration=declaration)} == {api_key}
    assert "Shop system" in declaration.status_changes.last().actor


def test_many_declarations_are_created_in_one_call_with_errors_by_index(
    organisation, actor, rates_today
):
    bad = declaration_data()
    bad["lines"][0]["hs_code"] = "000000"
    items = [declaration_data(), bad, declaration_data()]
    outcomes = services.declarations_create(
        organisation=organisation, items=items, submit=True, actor=actor
    )
    assert [o.errors is None for o in outcomes] == [True, False, True]
    assert outcomes[1].errors is not None
    assert outcomes[1].errors[0].field == "lines[0].hs_code"
    assert Declaration.objects.filter(organisation=organisation).count() == 2
    assert StatusChange.objects.filter(to_status=Status.SUBMITTED).count() == 2
