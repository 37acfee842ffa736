"""The estimator in headless Chromium, in English and Korean, checked for accessibility."""

import datetime
import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from clearance.models import ExchangeRate
from clearance.presets import load_presets
from tests.conftest import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def use_language(page: Page, base: str, code: str) -> None:
    page.goto(base + "/estimate/")
    page.select_option("#language-select", code)
    page.get_by_role("button", name=re.compile("Change|변경")).click()
    expect(page.locator("html")).to_have_attribute("lang", code)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_buyer_estimates_a_parcel_without_signing_in(page: Page, live_server, language):
    load_presets()
    ExchangeRate.objects.create(
        date=datetime.date(2026, 4, 13), base="USD", currency="KRW", rate=Decimal(1400)
    )
    base = live_server.url
    use_language(page, base, language)
    expect(page).to_have_url(re.compile("/estimate/"))
    expect(page.locator("[data-rules]")).to_contain_text("150 USD")
    assert_accessible(page)

    # A first try without an HS code: the summary lists it, focused, and links to the field.
    page.locator("#id_date").fill("2026-04-13")
    page.select_option("#id_seller_country", "US")
    page.locator("#id_consignee_id").fill("P123456789012")
    page.locator("#id_lines-0-description").fill("Sneakers")
    page.locator("#id_lines-0-value").fill("250")
    page.select_option("#id_lines-0-origin_country", "VN")
    page.locator("form.usa-form button[type=submit]").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary.locator('a[href="#id_lines-0-hs_code"]')).to_be_visible()
    assert_accessible(page)

    page.locator("#id_lines-0-hs_code").fill("640411")
    page.locator("form.usa-form button[type=submit]").click()
    # USD 250 from the US is over the USD 200 limit: 350,000 KRW, duty 28,000, tax 37,800.
    expect(page.locator("[data-total-due]")).to_have_text("65,800\u00a0KRW")
    expected = {"en": "exceeds the 200 USD duty-free limit", "ko": "관세 면제 한도 200 USD"}
    expect(page.locator("[data-reasons]")).to_contain_text(expected[language])
    assert_accessible(page)
