"""In headless Chromium: a seller files, is told of a vague description, submits, copies
and amends, with the HS lookup and item lines handled in place by htmx."""

import re

import pytest
from playwright.sync_api import Page, expect

from clearance.risk.models import RiskSettings
from declarations.models import Declaration, Status
from tests.conftest import assert_accessible, rates_for_today, sign_in, wait_for
from tests.declarations.helpers import fill_header
from tests.factories import OrganisationFactory, hs_rule

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fill_line(page: Page, index: int, description: str, quantity: str, value: str) -> None:
    page.locator(f"#id_lines-{index}-description").fill(description)
    page.locator(f"#id_lines-{index}-quantity").fill(quantity)
    page.locator(f"#id_lines-{index}-value").fill(value)
    page.locator(f"#id_lines-{index}-origin_country").fill("CN")
    page.locator(f"#id_lines-{index}-gross_mass_kg").fill("0.4")


def under_review(reference: str, version: int) -> bool:
    declaration = Declaration.objects.get(reference=reference)
    return declaration.status == Status.UNDER_REVIEW and declaration.version == version


def test_a_seller_files_fixes_submits_copies_and_amends(page: Page, live_server, celery_worker):
    # Risk scoring runs on the worker after each submission; this rule keeps the declaration
    # under review (so it can still be amended) instead of released at once.
    rates_for_today()
    RiskSettings.objects.update_or_create(pk=1, defaults={"random_share": 0})
    hs_rule("8518", 40, "Headphones.", "Headphones")
    organisation = OrganisationFactory(name="Lee Goods")
    base = live_server.url
    sign_in(page, base, organisation.owner.email)
    expect(page).to_have_url(re.compile("/dashboard/"))

    page.goto(base + "/declarations/")
    assert_accessible(page)
    page.get_by_role("link", name="File a declaration").click()
    expect(page.locator("h1")).to_have_text("File a declaration")
    assert_accessible(page)

    fill_header(page, "ORDER-1")

    # The HS lookup finds the code by words and fills the line's field in place.
    page.locator("#id_lines-0-hs_code").focus()
    page.locator("#hs-query").fill("bluetooth headphones")
    page.get_by_role("button", name="Find HS codes").click()
    use = page.get_by_role("button", name="Use 851830")
    expect(use).to_be_visible()
    assert_accessible(page)
    use.click()
    expect(page.locator("#id_lines-0-hs_code")).to_have_value("851830")
    fill_line(page, 0, "Wireless bluetooth headphones", "1", "39.90")

    # A second line, added in place; its vague description is refused beside the field.
    page.get_by_role("button", name="Add a line").click()
    expect(page.locator("#id_lines-1-description")).to_be_visible()
    fill_line(page, 1, "gift", "2", "12.50")
    page.locator("#id_lines-1-hs_code").fill("610910")
    page.get_by_role("button", name="Submit", exact=True).click()
    error = page.locator("#id_lines-1-description_error_1")
    expect(error).to_contain_text("does not describe them")
    expect(page.locator("[data-error-summary]")).to_be_focused()
    assert_accessible(page)

    page.locator("#id_lines-1-description").fill("Cotton T-shirts for men")
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.locator("h1")).to_contain_text(re.compile("Submitted|Under review"))
    wait_for(lambda: under_review("ORDER-1", 1))
    page.reload()
    timeline = page.locator("#timeline li")
    expect(timeline).to_have_count(3)
    expect(timeline.nth(1)).to_contain_text("Submitted")
    expect(timeline.nth(2)).to_contain_text("Under review")
    assert_accessible(page)
    original = Declaration.objects.get(reference="ORDER-1")
    assert original.lines.count() == 2

    # Copy it to a new draft.
    page.get_by_role("button", name="Copy to a new draft").click()
    expect(page.locator("#id_reference")).to_have_value("ORDER-1-C1")
    expect(page.locator("#id_lines-1-description")).to_have_value("Cotton T-shirts for men")
    page.get_by_role("button", name="Save as draft").click()
    expect(page.locator("h1")).to_contain_text("Draft")

    # Amend the submitted one before release.
    page.goto(f"{base}/declarations/{original.pk}/")
    page.get_by_role("link", name="Amend").click()
    page.locator("#id_lines-0-quantity").fill("3")
    page.get_by_role("button", name="Remove line 2").click()
    expect(page.locator("#id_lines-1-description")).to_have_count(0)
    assert_accessible(page)
    page.get_by_role("button", name="Submit the amendment").click()
    wait_for(lambda: under_review("ORDER-1", 2))
    page.reload()
    expect(page.locator("#timeline li")).to_have_count(5)
    expect(page.locator("#timeline li").nth(3)).to_contain_text("Amended")
    original.refresh_from_db()
    assert original.version == 2
    assert original.lines.count() == 1
