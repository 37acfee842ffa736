"""End to end in headless Chromium: an officer claims a yellow case and asks the seller; the
seller answers in the browser; the officer releases; the seller downloads the release notice
and its code verifies."""

import datetime
import re

import pytest
from playwright.sync_api import Browser, Page, expect

from clearance.actors import Actor
from clearance.review.models import ReleaseNotice
from clearance.risk.models import RiskSettings
from declarations import services
from declarations.models import Declaration, Status
from tests.conftest import assert_accessible, pass_second_factor, rates_for_today, sign_in, wait_for
from tests.declarations.helpers import declaration_data
from tests.factories import OrganisationFactory, hs_rule, staff_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_an_officer_asks_the_seller_answers_the_officer_releases_and_the_notice_verifies(
    page: Page, browser: Browser, live_server, celery_worker, tmp_path
):
    base = live_server.url
    rates_for_today()
    RiskSettings.objects.update_or_create(pk=1, defaults={"random_share": 0})
    hs_rule("8518", 40, "Headphones are often counterfeit (HS {value}).", "Headphones")
    organisation = OrganisationFactory(name="Lee Goods")
    declaration = services.declaration_create(
        organisation=organisation,
        data=declaration_data(),
        submit=True,
        actor=Actor(user=organisation.owner),
    )
    wait_for(
        lambda: Declaration.objects.get(pk=declaration.pk).status == Status.UNDER_REVIEW,
        timeout=60,
    )

    # The officer, past the second factor, claims the case from the queue and asks.
    officer = staff_user("officer")
    staff = browser.new_page()
    sign_in(staff, base, officer.email)
    pass_second_factor(staff, base, officer, "/staff/review/")
    assert_accessible(staff)
    staff.get_by_role("link", name=declaration.system_reference).click()
    expect(staff.locator("#hits")).to_contain_text("Headphones are often counterfeit (HS 851830).")
    assert_accessible(staff)
    staff.get_by_role("button", name="Claim this case").click()
    staff.locator("#id_question").fill("Please send the invoice for the headphones.")
    due = (datetime.date.today() + datetime.timedelta(days=3)).isoformat()
    staff.locator("#id_due_on").fill(due)
    staff.get_by_role("button", name="Send the question").click()
    expect(staff.locator("#questions")).to_contain_text("Not answered yet.")
    assert_accessible(staff)

    # The seller answers in the browser, with the invoice.
    sign_in(page, base, organisation.owner.email)
    page.goto(base + f"/declarations/{declaration.pk}/")
    page.get_by_role("link", name=re.compile("answer it")).click()
    expect(page.locator("#question")).to_have_text("Please send the invoice for the headphones.")
    assert_accessible(page)
    page.locator("#id_answer").fill("The invoice is attached.")
    page.locator("#id_kind").select_option("invoice")
    invoice = tmp_path / "invoice.png"
    invoice.write_bytes(PNG)
    page.locator("#id_file").set_input_files(str(invoice))
    page.get_by_role("button", name="Send the answer").click()
    expect(page).to_have_url(re.compile(f"/declarations/{declaration.pk}/$"))
    assert "Headphones are often counterfeit" not in page.content()

    # Back in the queue: the officer claims it again, reads the answer and releases.
    staff.goto(base + f"/staff/review/{declaration.pk}/")
    expect(staff.locator("#questions")).to_contain_text("The invoice is attached.")
    staff.get_by_role("button", name="Claim this case").click()
    staff.get_by_role("button", name="Release", exact=True).click()
    expect(staff.locator("#decisions")).to_contain_text("Release")
    staff.close()

    # The seller downloads the release notice once the worker has rendered it.
    wait_for(lambda: ReleaseNotice.objects.filter(declaration=declaration).exclude(file=""))
    page.goto(base + f"/declarations/{declaration.pk}/")
    assert_accessible(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the release notice (PDF)").click()
    path = download.value.path()
    assert path is not None
    with open(path, "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    code = ReleaseNotice.objects.get(declaration=declaration).code

    page.goto(base + f"/verify/{code}")
    expect(page.locator("h2")).to_contain_text("Genuine release notice")
    assert_accessible(page)

    # A seller who opens an officer page gets 404.
    response = page.goto(base + f"/staff/review/{declaration.pk}/")
    assert response is not None and response.status == 404


def test_a_supervisor_previews_a_rule_change_on_accessible_pages(
    page: Page, live_server, celery_worker
):
    base = live_server.url
    supervisor = staff_user("supervisor")
    sign_in(page, base, supervisor.email)
    pass_second_factor(page, base, supervisor, "/staff/risk/rules/")
    assert_accessible(page)
    page.get_by_role("link", name="Add a rule").click()
    page.locator("#id_name").fill("Watches")
    page.locator("#id_kind").select_option("hs_prefix")
    page.locator("#id_params").fill('{"prefixes": ["9102"]}')
    page.locator("#id_points").fill("25")
    page.locator("#id_effective_from").fill("2024-01-01")
    page.locator("#id_reason_template").fill("Watches: HS {value}.")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile("/staff/risk/rules/$"))
    page.get_by_role("link", name="Change the lanes").click()
    assert_accessible(page)


def test_the_inspection_form_of_a_red_case_is_accessible(page: Page, live_server):
    from clearance.risk import scoring as risk

    base = live_server.url
    rates_for_today()
    RiskSettings.objects.update_or_create(pk=1, defaults={"random_share": 0})
    hs_rule("8518", 90, "Headphones (HS {value}).", "Headphones")
    organisation = OrganisationFactory(name="Red Goods")
    declaration = services.declaration_create(
        organisation=organisation,
        data=declaration_data(),
        submit=True,
        actor=Actor(user=organisation.owner),
    )
    risk.score_declarations([declaration.pk])
    officer = staff_user("officer")
    sign_in(page, base, officer.email)
    pass_second_factor(page, base, officer, f"/staff/review/{declaration.pk}/")
    page.get_by_role("button", name="Claim this case").click()
    expect(page.get_by_role("button", name="Record the result")).to_be_visible()
    assert_accessible(page)
