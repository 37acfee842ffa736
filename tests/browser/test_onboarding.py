"""End to end in headless Chromium: a seller signs up, staff pass the second factor."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import assert_accessible
from tests.factories import PASSWORD, current_totp, staff_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def use_language(page: Page, base: str, code: str) -> None:
    page.goto(base + "/")
    page.select_option("#language-select", code)
    page.get_by_role("button", name=re.compile("Change|변경")).click()
    expect(page.locator("html")).to_have_attribute("lang", code)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_seller_registers_confirms_and_sees_the_dashboard(
    page: Page, live_server, celery_worker, mailbox, language
):
    base = live_server.url
    email = f"seller-{language}@shop.example"
    use_language(page, base, language)
    assert_accessible(page)

    page.goto(base + "/account/register/")
    assert_accessible(page)
    # A first try with mismatched passwords shows the error summary, focused.
    page.locator("#id_full_name").fill("Lee Seller")
    page.locator("#id_email").fill(email)
    page.locator("#id_organisation_name").fill(f"Lee Goods {language}")
    page.locator("#id_password1").fill("a-long-enough-passphrase")
    page.locator("#id_password2").fill("a-different-passphrase")
    page.locator("form.usa-form button[type=submit]").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    assert_accessible(page)

    page.locator("#id_password1").fill("a-long-enough-passphrase")
    page.locator("#id_password2").fill("a-long-enough-passphrase")
    page.locator("form.usa-form button[type=submit]").click()
    expect(page.locator("h1")).to_have_text(re.compile("Check your email|이메일을 확인"))
    assert_accessible(page)

    [message] = mailbox.wait_for(email)
    link = re.search(r"https?://\S+(/account/verify/\S+/)", mailbox.text(message))
    assert link
    page.goto(base + link.group(1))
    expect(page).to_have_url(re.compile("/account/login/"))
    assert_accessible(page)

    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill("a-long-enough-passphrase")
    page.locator("form.usa-form button[type=submit]").click()
    expect(page).to_have_url(re.compile("/dashboard/"))
    expect(
        page.get_by_role("cell", name=f"Lee Goods {language}").or_(
            page.get_by_role("rowheader", name=f"Lee Goods {language}")
        )
    ).to_be_visible()
    assert_accessible(page)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_an_officer_reaches_staff_pages_only_with_a_verified_second_factor(
    page: Page, live_server, language
):
    base = live_server.url
    officer = staff_user("officer")
    use_language(page, base, language)
    page.goto(base + "/account/login/")
    page.locator("#id_username").fill(officer.email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form.usa-form button[type=submit]").click()

    # Neither the staff workspace nor the admin site opens before the second factor.
    page.goto(base + "/admin/")
    expect(page.get_by_text("Site administration")).to_have_count(0)
    page.goto(base + "/staff/")
    expect(page).to_have_url(re.compile(r"/account/two-factor/\?next="))
    assert_accessible(page)

    page.locator("#id_token").fill(current_totp(officer))
    page.locator("form.usa-form button[type=submit]").click()
    expect(page).to_have_url(re.compile("/staff/$"))
    expect(page.locator("h1")).to_be_visible()
    assert_accessible(page)


def test_a_new_officer_sets_up_the_second_factor_from_the_emailed_link(
    page: Page, live_server, celery_worker, mailbox
):
    base = live_server.url
    officer = staff_user("officer", with_device=False)
    page.goto(base + "/account/login/")
    page.locator("#id_username").fill(officer.email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form.usa-form button[type=submit]").click()
    page.goto(base + "/staff/")
    expect(page.locator("h1")).to_have_text("Set up your second factor")
    assert_accessible(page)
    page.get_by_role("button", name="Email me a set-up link").click()
    expect(page.get_by_role("status")).to_contain_text("We have sent a set-up link")
    assert_accessible(page)

    [message] = mailbox.wait_for(officer.email)
    link = re.search(r"https?://[^/\s]+(/account/two-factor/enrol/\S+/)", mailbox.text(message))
    assert link
    page.goto(base + "/account/two-factor/enrol/not-a-link/")
    expect(page.locator("h1")).to_have_text("This set-up link cannot be used")
    assert_accessible(page)
    page.goto(base + link.group(1))
    expect(page.get_by_text("Add this account to your authenticator app")).to_be_visible()
    assert_accessible(page)
