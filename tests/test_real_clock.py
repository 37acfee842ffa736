"""The portal on today's date, nothing frozen: from the demo data, a platform files a USD parcel
by API and a seller one in the browser; both are assessed with amounts and scored by the real
worker; each is paid through the sandbox gateway, released, and its release notice's code
verifies on the public page."""

import io
import re
from functools import partial

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Page, expect
from rest_framework.test import APIClient

from clearance.models import Role, User
from clearance.review import services as review
from clearance.review.models import ReleaseNotice, ReviewCase
from clearance.risk.models import RiskScore, RiskSettings
from declarations.models import Declaration, Status
from tests.conftest import assert_accessible, sign_in, wait_for
from tests.declarations.helpers import LINE, declaration_data, fill_header

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_PASSWORD = "demo-password-2026"
HEADPHONES = {**LINE, "quantity": "1", "value": "212.40"}  # over the 150 USD limit: owes duty


def sign_in_as(page: Page, base: str, email: str) -> None:
    page.context.clear_cookies()
    sign_in(page, base, email, DEMO_PASSWORD)


def file_in_the_browser(page: Page, base: str) -> None:
    page.goto(base + "/declarations/new/")
    fill_header(page, "TODAY-BROWSER")
    page.locator("#id_lines-0-description").fill("Wireless bluetooth headphones")
    page.locator("#id_lines-0-hs_code").fill("851830")
    page.locator("#id_lines-0-quantity").fill("1")
    page.locator("#id_lines-0-value").fill("212.40")
    page.locator("#id_lines-0-origin_country").fill("CN")
    page.locator("#id_lines-0-gross_mass_kg").fill("0.4")
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.locator("h1")).to_contain_text(re.compile(r"LV-\d{4}-"))


def scored(declaration: Declaration) -> bool:
    declaration.refresh_from_db()
    return (
        declaration.status not in (Status.SUBMITTED, Status.HELD)
        and RiskScore.objects.filter(declaration=declaration, version=declaration.version).exists()
    )


def rendered(notice_id: int) -> bool:
    return bool(ReleaseNotice.objects.get(pk=notice_id).file)


def through_review(declaration: Declaration) -> None:
    """A parcel the demo's risk rules send to review is released to payment by the demo
    officer, as the officer would on the case page."""
    if declaration.status != Status.UNDER_REVIEW:
        return
    officer = User.objects.get(email="officer@demo.example")
    assert officer.has_role(Role.OFFICER)
    review.case_claim(case=ReviewCase.objects.get(declaration=declaration), by=officer)
    review.decision_release(declaration=declaration, by=officer, reason="Documents match.")
    declaration.refresh_from_db()


def pay_in_the_browser(page: Page, base: str, declaration: Declaration) -> None:
    page.goto(base + "/payments/")
    assert_accessible(page)
    expect(page.locator("body")).to_contain_text("Sandbox: no money moves.")
    page.get_by_role("button", name=f"Pay {declaration.system_reference}").click()
    expect(page.locator("h1")).to_have_text("Sandbox payment page")
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.locator("[data-payment-status]")).to_have_text("Paid")


def test_a_parcel_filed_today_is_assessed_scored_paid_and_released(
    page: Page, live_server, celery_worker, settings
):
    settings.DEBUG = True  # the demo: its rates carried forward to today (the network is closed)
    call_command("seed_demo", stdout=io.StringIO())
    # No random document check: this is about the clock, not the random share.
    RiskSettings.objects.update_or_create(pk=1, defaults={"random_share": 0})
    base = live_server.url
    settings.SITE_URL = base  # where the sandbox gateway posts its callback
    today = timezone.localdate()

    # A platform files by API, with the key the README's command prints.
    out = io.StringIO()
    call_command("create_api_key", "--org", "Demo Marketplace", stdout=out)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {out.getvalue().split()[-1]}")
    answer = api.post(
        "/api/v1/declarations/",
        {**declaration_data(reference="TODAY-API", lines=[HEADPHONES]), "submit": True},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    filed = answer.json()
    assert filed["status"] == "submitted", filed["assessment"]
    assert filed["assessment"]["date"] == today.isoformat()
    assert int(filed["assessment"]["total_due"]["amount"]) > 0
    assert any(r["code"] == "demo_exchange_rate" for r in filed["assessment"]["reasons"])

    # A seller files in the browser.
    sign_in_as(page, base, "seller@demo.example")
    file_in_the_browser(page, base)
    by_browser = Declaration.objects.get(reference="TODAY-BROWSER")
    by_api = Declaration.objects.get(reference="TODAY-API")
    browser_version = by_browser.versions.get()
    assert not browser_version.held and browser_version.total_due > 0

    # Both are scored by the worker, on today's date.
    for declaration in (by_api, by_browser):
        wait_for(partial(scored, declaration), timeout=60)
        through_review(declaration)
        assert declaration.status == Status.AWAITING_PAYMENT

    # Each is paid through the sandbox gateway and released.
    pay_in_the_browser(page, base, by_browser)
    sign_in_as(page, base, "platform@demo.example")
    pay_in_the_browser(page, base, by_api)
    for declaration in (by_browser, by_api):
        declaration.refresh_from_db()
        assert declaration.status == Status.RELEASED
        assert timezone.localdate(declaration.released_at) == today
        notice = ReleaseNotice.objects.get(declaration=declaration)
        wait_for(partial(rendered, notice.pk), timeout=60)
        page.goto(f"{base}/verify/{notice.code}")
        expect(page.locator("#notice")).to_contain_text(declaration.system_reference)
        assert_accessible(page)
