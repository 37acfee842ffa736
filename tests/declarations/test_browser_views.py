"""The filing pages, driven without JavaScript (plain form posts), as a seller uses them."""

import re

import pytest

from clearance.models import ApiKey, Membership
from declarations import selectors, services
from declarations.models import Declaration, Status
from tests.declarations.helpers import declaration_data
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def form_post(declaration=None, lines=None, action="save", **header):
    """A POST as the filing form sends it."""
    data = declaration_data() if declaration is None else declaration
    post = {
        "reference": data["reference"],
        "transport_mode": data["transport_mode"],
        "transport_document": data["transport_document"],
        "carrier": data["carrier"],
        "marketplace": data["marketplace"],
        "order_reference": data["order_reference"],
        "purpose": data["purpose"],
        "arrival_office": "",
        "currency": data["currency"],
        "shipping_cost": data["shipping_cost"],
        "insurance_cost": data["insurance_cost"],
        "vendor_tax_id": "",
        "action": action,
    }
    for party in ("seller", "consignee"):
        for key, value in data[party].items():
            post[f"{party}_{key}"] = value
    lines = data["lines"] if lines is None else lines
    post.update(
        {
            "lines-TOTAL_FORMS": str(len(lines)),
            "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "999",
        }
    )
    for index, line in enumerate(lines):
        for key, value in line.items():
            post[f"lines-{index}-{key}"] = value
    post.update(header)
    return post


@pytest.fixture
def seller(client, owner):
    client.force_login(owner)
    return client


def test_the_dashboard_lists_only_the_organisations_own_with_search_and_filters(
    seller, organisation, other_organisation, actor
):
    mine = services.declaration_create(
        organisation=organisation, data=declaration_data(), submit=True, actor=actor
    )
    draft = services.declaration_create(
        organisation=organisation, data=declaration_data(), submit=False, actor=actor
    )
    theirs = services.declaration_create(
        organisation=other_organisation, data=declaration_data(), submit=True, actor=actor
    )
    page = seller.get("/declarations/").content.decode()
    assert mine.system_reference in page and draft.system_reference in page
    assert theirs.system_reference not in page
    page = seller.get("/declarations/?status=draft").content.decode()
    assert draft.system_reference in page and mine.system_reference not in page
    page = seller.get(f"/declarations/?q={mine.reference}").content.decode()
    assert mine.system_reference in page and draft.system_reference not in page


def test_the_dashboard_pages_through_many(seller, organisation, actor):
    services.declarations_create(
        organisation=organisation,
        items=[declaration_data() for _ in range(30)],
        submit=False,
        actor=actor,
    )
    first = seller.get("/declarations/").content.decode()
    assert "Page 1 of 2" in first
    assert "Page 2 of 2" in seller.get("/declarations/?page=2").content.decode()


def test_saving_a_draft_and_then_submitting_it(seller, organisation, owner, rates_today):
    response = seller.post("/declarations/new/", form_post())
    declaration = Declaration.objects.get(organisation=organisation)
    assert response.status_code == 302
    assert response["Location"] == f"/declarations/{declaration.pk}/"
    assert declaration.status == Status.DRAFT
    assert declaration.lines.count() == 2
    seller.post(f"/declarations/{declaration.pk}/submit/")
    declaration.refresh_from_db()
    assert declaration.status == Status.SUBMITTED
    page = seller.get(f"/declarations/{declaration.pk}/").content.decode()
    assert 'id="timeline"' in page
    assert page.count("usa-process-list__item") == 2


def test_a_vague_description_is_refused_beside_the_field(seller):
    data = declaration_data()
    data["lines"][1]["description"] = "gift"
    response = seller.post("/declarations/new/", form_post(data, action="submit"))
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="id_lines-1-description_error_1"' in page
    assert "does not describe them" in page
    assert 'href="#id_lines-1-description"' in page
    assert not Declaration.objects.exists()


def test_lines_are_added_and_removed_without_javascript(seller):
    data = declaration_data()
    added = seller.post("/declarations/new/", form_post(data, action="add"))
    page = added.content.decode()
    assert 'name="lines-TOTAL_FORMS" value="3"' in page
    assert "Remove line 3" in page
    removed = seller.post("/declarations/new/", form_post(data, action="remove-0"))
    page = removed.content.decode()
    assert 'name="lines-TOTAL_FORMS" value="1"' in page
    assert "Cotton T-shirts for men" in page
    assert "Wireless bluetooth headphones" not in page
    assert not Declaration.objects.exists()


def test_htmx_gets_only_the_lines_fragment(seller):
    response = seller.post("/declarations/new/", form_post(action="add"), HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert page.lstrip().startswith('<fieldset class="usa-fieldset" id="lines">')
    assert "<html" not in page


def test_the_hs_lookup_in_the_form_keeps_what_was_typed(seller):
    data = declaration_data(carrier="Kept Carrier")
    response = seller.post(
        "/declarations/new/",
        {**form_post(data, action="lookup"), "hs_query": "bluetooth headphones"},
    )
    page = response.content.decode()
    assert "851830" in page
    assert 'value="Kept Carrier"' in page
    fragment = seller.post(
        "/declarations/new/",
        {**form_post(data, action="lookup"), "hs_query": "bluetooth headphones"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert fragment.lstrip().startswith('<div id="hs-results"')
    assert "Use 851830" in fragment


def test_the_hs_lookup_page(seller):
    page = seller.get("/declarations/hs-codes/?q=bluetooth+headphones").content.decode()
    assert "851830" in page


def test_amending_a_submitted_declaration_makes_version_two(seller, organisation, actor):
    declaration = services.declaration_create(
        organisation=organisation, data=declaration_data(), submit=True, actor=actor
    )
    data = selectors.declaration_data(declaration, list(declaration.lines.all()))
    data["lines"][0]["quantity"] = "5"
    page = seller.get(f"/declarations/{declaration.pk}/edit/").content.decode()
    assert "Submit the amendment" in page
    response = seller.post(f"/declarations/{declaration.pk}/edit/", form_post(data, action="amend"))
    assert response.status_code == 302
    declaration.refresh_from_db()
    assert declaration.version == 2
    assert declaration.lines.get(number=1).quantity == 5


def test_cancel_and_copy(seller, organisation, actor):
    declaration = services.declaration_create(
        organisation=organisation, data=declaration_data(reference="R-9"), submit=True, actor=actor
    )
    response = seller.post(f"/declarations/{declaration.pk}/copy/")
    copy = Declaration.objects.get(reference="R-9-C1")
    assert response["Location"] == f"/declarations/{copy.pk}/edit/"
    seller.post(f"/declarations/{declaration.pk}/cancel/")
    declaration.refresh_from_db()
    assert declaration.status == Status.CANCELLED
    page = seller.get(f"/declarations/{declaration.pk}/").content.decode()
    assert "Cancel declaration" not in page


def test_another_organisations_declaration_is_not_found(
    client, other_organisation, organisation, actor
):
    declaration = services.declaration_create(
        organisation=organisation, data=declaration_data(), submit=False, actor=actor
    )
    client.force_login(other_organisation.owner)
    for url in ("", "edit/"):
        assert client.get(f"/declarations/{declaration.pk}/{url}").status_code == 404
    for url in ("submit/", "cancel/", "copy/"):
        assert client.post(f"/declarations/{declaration.pk}/{url}").status_code == 404
    declaration.refresh_from_db()
    assert declaration.status == Status.DRAFT


def test_the_owner_makes_a_key_sees_it_once_and_revokes_it(seller, organisation, owner):
    response = seller.post("/declarations/api-keys/", {"name": "Warehouse"})
    key = re.search(r'<code id="new-key">(\S+)</code>', response.content.decode()).group(1)
    api_key = ApiKey.objects.get(organisation=organisation)
    assert api_key.matches(key) and api_key.created_by == owner
    assert key not in seller.get("/declarations/api-keys/").content.decode()
    seller.post(f"/declarations/api-keys/{api_key.pk}/revoke/")
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert api_key.history.latest().history_user == owner


def test_a_member_who_is_not_the_owner_cannot_manage_keys(client, organisation):
    member = UserFactory()
    Membership.objects.create(user=member, organisation=organisation)
    client.force_login(member)
    assert client.get("/declarations/api-keys/").status_code == 404
