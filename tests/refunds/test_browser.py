"""In headless Chromium: a seller pays through the sandbox gateway, asks for a refund of
returned goods with evidence; an officer approves; the seller sees it paid and downloads the
refund receipt."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from declarations.models import Declaration, Status
from refunds.models import Refund
from tests.conftest import assert_accessible, pass_second_factor, sign_in
from tests.factories import OrganisationFactory, staff_user
from tests.refunds.helpers import due_declaration

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_a_seller_pays_asks_a_refund_an_officer_approves_and_the_seller_gets_the_receipt(
    page: Page, browser: Browser, live_server, celery_worker, tmp_path, settings
):
    base = live_server.url
    settings.SITE_URL = base  # where the gateway posts its callback
    organisation = OrganisationFactory(name="Lee Goods")
    declaration = due_declaration(organisation, total="300000")
    sign_in(page, base, organisation.owner.email)

    # Pay through the sandbox gateway: the portal settles on its signed callback.
    page.goto(base + "/payments/")
    assert_accessible(page)
    page.get_by_role("button", name=f"Pay {declaration.system_reference}").click()
    expect(page.locator("h1")).to_have_text("Sandbox payment page")
    assert_accessible(page)
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.locator("[data-payment-status]")).to_have_text("Paid")
    assert_accessible(page)
    assert Declaration.objects.get(pk=declaration.pk).status == Status.RELEASED

    # Ask for a refund of returned goods, with the return tracking number and a photo.
    page.goto(base + "/payments/")
    page.get_by_role("link", name=f"Ask for a refund on {declaration.system_reference}").click()
    assert_accessible(page)
    evidence = tmp_path / "returned-parcel.png"
    evidence.write_bytes(PNG)
    page.locator("#id_reason").select_option("returned")
    page.locator("#id_amount").fill("120000")
    page.locator("#id_return_tracking_number").fill("RR123456789KR")
    page.locator("#id_evidence").set_input_files(str(evidence))
    page.get_by_role("button", name="Ask for the refund").click()
    expect(page.locator("[data-refund-status]")).to_have_text("Under review")
    assert_accessible(page)
    refund = Refund.objects.get()

    # An officer, past the second factor, approves it from the queue.
    officer = staff_user("officer")
    staff = browser.new_page()
    sign_in(staff, base, officer.email)
    pass_second_factor(staff, base, officer, "/staff/refunds/")
    assert_accessible(staff)
    staff.get_by_role("link", name=f"Refund {refund.pk}").click()
    expect(staff.get_by_role("link", name="returned-parcel.png")).to_be_visible()
    assert_accessible(staff)
    staff.get_by_role("button", name="Approve").click()
    expect(staff).to_have_url(re.compile("/staff/refunds/$"))
    staff.close()

    # The worker pays it out and renders the receipt; the open page shows both as they happen.
    expect(page.locator("[data-refund-status]")).to_have_text("Paid", timeout=30_000)
    receipt = page.get_by_role("link", name="Download the refund receipt (PDF)")
    expect(receipt).to_be_visible(timeout=30_000)
    assert_accessible(page)
    with page.expect_download() as download:
        receipt.click()
    path = download.value.path()
    assert path is not None
    with open(path, "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
