"""Tracking for the consignee without signing in: /track/ shows a parcel's status and the time
of each step to whoever gives its transport document number and the last four characters of
the consignee's identification number, and nothing else to anyone."""

import re
import uuid

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import Page, expect

from clearance.actors import Actor
from declarations import demo, services
from declarations.models import Declaration, Lane, Status
from declarations.tracking import attempt_key
from tests.conftest import assert_accessible, rates_for_today
from tests.declarations.helpers import declaration_data
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db

URL = "/track/"


def new_document() -> str:
    """A transport document number no earlier run has counted attempts against."""
    return f"1Z{uuid.uuid4().hex[:14].upper()}"


def new_address() -> str:
    number = uuid.uuid4().int
    return f"10.{number % 250}.{(number >> 8) % 250}.{(number >> 16) % 250}"


def file(organisation, actor, document: str, id_number: str = "P1234567AB9X", **overrides):
    data = declaration_data(transport_document=document, **overrides)
    data["consignee"] = {**data["consignee"], "id_number": id_number}
    return services.declaration_create(
        organisation=organisation, data=data, submit=True, actor=actor
    )


def track(client, document: str, four: str, address: str | None = None):
    return client.post(
        URL,
        {"transport_document": document, "id_last_four": four},
        REMOTE_ADDR=address or new_address(),
    )


def main_text(response) -> str:
    """The page's main content (the header and footer are the same on every page)."""
    html = str(response.content.decode())
    return html[html.index('<main id="main-content"') : html.index("</main>")]


def local(at) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M")


def test_a_matching_pair_sees_the_status_and_the_time_of_each_step(
    client, organisation, actor, rates_today
):
    document = new_document()
    declaration = file(organisation, actor, document)
    customs = Actor()
    services.declaration_transition(
        declaration=declaration,
        leaving=Status.SUBMITTED,
        to=Status.UNDER_REVIEW,
        actor=customs,
        lane=Lane.RED,
        note="Undervaluation suspected against the reference price",
    )
    services.declaration_transition(
        declaration=declaration,
        leaving=Status.UNDER_REVIEW,
        to=Status.INFO_REQUESTED,
        actor=customs,
        note="Officer note: ask for the invoice",
    )

    # Case and spaces do not matter, in the number or in the four characters.
    spaced = " ".join([document[:4].lower(), document[4:10], document[10:].lower()])
    response = track(client, spaced, " ab 9x ")

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    assert "no-store" in response["Cache-Control"]
    text = main_text(response)
    assert "Status: Information requested" in text
    changes = list(declaration.status_changes.exclude(to_status=Status.DRAFT).order_by("at", "id"))
    assert [c.to_status for c in changes] == [
        Status.SUBMITTED,
        Status.UNDER_REVIEW,
        Status.INFO_REQUESTED,
    ]
    steps = re.findall(
        r'usa-process-list__heading[^>]*>([^<]+)</h3>\s*<p[^>]*><time datetime="[^"]+">([^<]+)<',
        text,
    )
    assert steps == [
        ("Submitted", local(changes[0].at)),
        ("Under review", local(changes[1].at)),
        ("Information requested", local(changes[2].at)),
    ]


def test_nothing_confidential_is_shown(client, organisation, actor, rates_today):
    document = new_document()
    declaration = file(
        organisation, actor, document, marketplace="Bazaar Nine", order_reference="SO-77123"
    )
    services.declaration_transition(
        declaration=declaration,
        leaving=Status.SUBMITTED,
        to=Status.UNDER_REVIEW,
        actor=Actor(),
        lane=Lane.YELLOW,
        note="Score 55: first parcel of a new filer",
    )

    response = track(client, document, "AB9X")

    assert response.status_code == 200
    text = main_text(response)
    assert "Status: Under review" in text
    version = declaration.versions.get()
    for secret in (
        "39.90",  # a line's value
        "39.9",
        str(version.customs_value.normalize()),
        "Wireless bluetooth headphones",  # the goods
        "Cotton T-shirts",
        "851830",
        "Kim Min-jun",  # the consignee
        "Sejong-daero",
        "P1234567AB9X",
        "Shenzhen Audio Ltd",  # the seller
        "Shenzhen",
        "Bazaar Nine",  # the filer's references
        "SO-77123",
        declaration.reference,
        declaration.system_reference,
        organisation.name,
        organisation.owner.get_full_name(),  # who moved it
        "the system",
        "first parcel",  # the officer's note and reason
        "Amended",
    ):
        assert secret not in text, secret
    for word in ("lane", "yellow", "red", "green", "score", "risk", "points", "USD", "KRW"):
        assert not re.search(rf"\b{word}\b", text, re.IGNORECASE), word


def normalised_page(response) -> bytes:
    """The answer with the two values that differ on every request of any page taken out: the
    CSP nonce and the masked CSRF tokens."""
    body = re.sub(rb'nonce="[^"]+"', b'nonce=""', response.content)
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"csrf", body)


def test_unknown_and_mismatched_pairs_get_the_same_answer(
    client, organisation, other_organisation, actor, rates_today
):
    known = new_document()
    file(organisation, actor, known)
    no_id = new_document()
    file(organisation, actor, no_id, id_number="")
    short_id = new_document()
    file(organisation, actor, short_id, id_number="9X")
    draft = new_document()
    data = declaration_data(transport_document=draft)
    data["consignee"]["id_number"] = "P1234567AB9X"
    services.declaration_create(organisation=organisation, data=data, submit=False, actor=actor)

    unknown = track(client, new_document(), "AB9X")
    answers = {
        "wrong four characters": track(client, known, "AB9Y"),
        "no id number": track(client, no_id, "AB9X"),
        "an id number of two characters": track(client, short_id, "XX9X"),
        "a draft": track(client, draft, "AB9X"),
    }
    assert unknown.status_code == 404
    assert "No parcel found" in main_text(unknown)
    assert known not in unknown.content.decode()
    for what, answer in answers.items():
        assert answer.status_code == unknown.status_code, what
        assert answer["Content-Type"] == unknown["Content-Type"], what
        assert answer["Content-Length"] == unknown["Content-Length"], what
        assert normalised_page(answer) == normalised_page(unknown), what
    # The same answer is not the answer to everything: the right pair is found.
    found = track(client, known, "ab9x")
    assert found.status_code == 200
    assert normalised_page(found) != normalised_page(unknown)


def test_several_declarations_under_one_number_show_the_newest_match_only(
    client, organisation, other_organisation, actor, rates_today
):
    document = new_document()
    first = file(organisation, actor, document, id_number="K00001111")
    services.declaration_cancel(declaration=first, actor=actor)
    neighbour = file(organisation, actor, document, id_number="K00002222")
    services.declaration_transition(
        declaration=neighbour,
        leaving=Status.SUBMITTED,
        to=Status.UNDER_REVIEW,
        actor=Actor(),
        lane=Lane.YELLOW,
    )
    newest = file(other_organisation, Actor(user=other_organisation.owner), document, "K1111")

    mine = track(client, document, "1111")
    assert mine.status_code == 200
    text = main_text(mine)
    assert "Status: Submitted" in text
    assert "Cancelled" not in text  # the older declaration of the same consignee
    assert "Under review" not in text  # the neighbour's
    assert text.count("usa-process-list__item") == 1
    assert newest.status == Status.SUBMITTED

    theirs = main_text(track(client, document, "2222"))
    assert "Status: Under review" in theirs
    assert "Cancelled" not in theirs


def test_an_amendment_that_keeps_the_status_is_not_a_step(client, organisation, actor, rates_today):
    document = new_document()
    declaration = file(organisation, actor, document)
    data = declaration_data(transport_document=document, reference=declaration.reference)
    data["consignee"]["id_number"] = "P1234567AB9X"
    services.declaration_amend(declaration=declaration, data=data, actor=actor)
    assert declaration.status_changes.filter(to_status=Status.SUBMITTED).count() == 2

    text = main_text(track(client, document, "AB9X"))
    assert text.count("usa-process-list__item") == 1
    assert "Amended" not in text


def test_the_form_explains_its_rules_and_a_get_looks_nothing_up(
    client, organisation, actor, rates_today
):
    document = new_document()
    file(organisation, actor, document)

    page = client.get(URL, {"transport_document": document, "id_last_four": "AB9X"})
    assert page.status_code == 200
    assert "Status:" not in main_text(page)
    assert 'method="post"' in main_text(page)

    empty = client.post(URL, {"transport_document": "  ", "id_last_four": "AB9X1"})
    assert empty.status_code == 200
    text = main_text(empty)
    assert "There is a problem" in text
    assert "Enter the transport document number." in text
    assert "Enter exactly four characters (this has 5)." in text


def test_guessing_is_throttled_per_address_and_per_number(
    client, organisation, actor, rates_today, settings
):
    settings.TRACKING_ATTEMPTS_PER_HOUR = 3
    settings.TRACKING_ATTEMPTS_PER_DOCUMENT_PER_HOUR = 4
    document = new_document()
    file(organisation, actor, document)
    address = new_address()

    # Format errors reach no data and are not counted.
    assert track(client, document, "9", address).status_code == 200
    answers = [track(client, document, four, address).status_code for four in ("0000", "1111")]
    assert answers == [404, 404]
    assert track(client, document, "AB9X", address).status_code == 200
    refused = track(client, document, "AB9X", address)
    assert refused.status_code == 429
    text = main_text(refused)
    assert "Too many tracking attempts from your address in the last hour" in text
    assert "Status:" not in text
    # The same for an unknown number: the limit says nothing about the parcel.
    assert track(client, new_document(), "AB9X", address).status_code == 429

    # Another address goes on until the number itself has had its attempts this hour.
    assert track(client, document, "AB9X").status_code == 200
    by_number = track(client, document, "AB9X")
    assert by_number.status_code == 429
    assert "Too many tracking attempts for this transport document" in main_text(by_number)


def test_a_demo_parcel_is_tracked_on_todays_clock(client, organisation, rates_today):
    """Unfrozen: the demo's declarations, filed today through the services."""
    demo.seed(organisation)
    rejected = Declaration.objects.get(organisation=organisation, reference="DEMO-REJECTED")
    n = [reference for reference, _journey in demo.JOURNEYS].index("DEMO-REJECTED")
    assert rejected.transport_document == f"LX{n:09d}CN"

    response = track(client, f"lx {n:09d} cn", f"{n + 1:012d}"[-4:])

    assert response.status_code == 200
    text = main_text(response)
    assert "Status: Rejected" in text
    today = timezone.localdate().isoformat()
    assert text.count(f">{today} ") == 3  # submitted, under review, rejected
    for hidden in ("Red", "Demo Consignee", "Shenzhen Demo Trading", "DEMO-REJECTED", "DM-"):
        assert hidden not in text
    draft = [reference for reference, _journey in demo.JOURNEYS].index("DEMO-DRAFT")
    assert track(client, f"LX{draft:09d}CN", f"{draft + 1:012d}"[-4:]).status_code == 404


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_tracking_pages_pass_axe_core(page: Page, live_server):
    rates_for_today()
    organisation = OrganisationFactory(name="Lee Goods")
    document = new_document()
    file(organisation, Actor(user=organisation.owner), document)
    cache.delete(attempt_key("address", "127.0.0.1"))
    base = live_server.url

    page.goto(base + "/")
    page.get_by_role("link", name="Track a parcel").click()
    expect(page).to_have_url(base + URL)
    expect(page.locator("h1")).to_have_text("Track a parcel")
    assert_accessible(page)

    page.get_by_role("button", name="Track").click()
    expect(page.locator("[data-error-summary]")).to_contain_text("There is a problem")
    assert_accessible(page)

    page.get_by_label("Transport document number").fill(document.lower())
    page.get_by_label("Last four characters").fill("ab9x")
    page.get_by_role("button", name="Track").click()
    expect(page.locator("#tracking")).to_contain_text("Status: Submitted")
    assert_accessible(page)

    page.get_by_label("Transport document number").fill(document)
    page.get_by_label("Last four characters").fill("0000")
    page.get_by_role("button", name="Track").click()
    expect(page.locator("#track-not-found")).to_contain_text("No parcel found")
    assert_accessible(page)
