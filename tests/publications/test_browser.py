"""In headless Chromium, signed out: find the returns policy, read its history and a diff,
comment on one section of the open draft and confirm by email."""

import re
import uuid
from datetime import date

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_onboarding import use_language
from tests.conftest import assert_accessible
from tests.publications.helpers import RETURNS_POLICY, open_consultation, publication, published

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_public_reads_the_returns_policy_and_comments_on_a_section_of_the_draft(
    page: Page, live_server, celery_worker, mailbox, language
):
    base = live_server.url
    pub = publication()
    published(pub, body=RETURNS_POLICY.replace("90 days", "30 days"), effective=date(2025, 1, 1),
              change_note="First edition")  # fmt: skip
    published(pub, effective=date(2026, 1, 1), change_note="A longer window")
    consultation = open_consultation(pub, body=RETURNS_POLICY + "\n# Sea freight\n\n120 days.")
    email = f"reader-{language}-{uuid.uuid4().hex[:6]}@example.test"
    use_language(page, base, language)

    page.goto(base + "/search/?q=returns+refunded")
    expect(page.locator("mark").first).to_be_visible()
    assert_accessible(page)
    page.locator(f'a[href="/publications/{pub.slug}/"]').first.click()
    expect(page.locator("h1")).to_have_text("Returns policy for low-value goods")
    assert_accessible(page)

    page.locator(f'a[href="/publications/{pub.slug}/history/"]').first.click()
    expect(page.locator("table")).to_contain_text("A longer window")
    assert_accessible(page)
    page.locator("form[action$='/diff/'] button[type=submit]").click()
    expect(page.locator(".pub-diff ins")).to_contain_text("90 days")
    expect(page.locator(".pub-diff del")).to_contain_text("30 days")
    assert_accessible(page)

    page.goto(base + f"/publications/{pub.slug}/")
    page.locator(f'a[href="/publications/consultations/{consultation.pk}/"]').click()
    assert_accessible(page)
    page.locator('a[href$="/comment/?section=section-2"]').click()
    expect(page.locator("#id_section")).to_have_value("section-2")
    assert_accessible(page)
    page.locator("#id_body").fill("Ninety days is too short for goods sent by sea.")
    page.locator("#id_name").fill("Choi Buyer")
    page.locator("#id_email").fill(email)
    page.locator("form.usa-form button[type=submit]").click()
    tracking = page.locator("[data-tracking-number]")
    expect(tracking).to_have_text(re.compile(r"^[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}$"))
    number = tracking.inner_text()
    assert_accessible(page)

    [confirm] = mailbox.wait_for(email)
    link = re.search(r"https?://\S+(/publications/comments/confirm/\S+/)", mailbox.text(confirm))
    assert link
    page.goto(base + link.group(1))
    assert_accessible(page)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("main")).to_contain_text(number)
    assert_accessible(page)
    receipt = mailbox.wait_for(email, count=2)[1]
    assert number in receipt["Subject"] and number in mailbox.text(receipt)
    assert page.locator("html").get_attribute("lang") == language
