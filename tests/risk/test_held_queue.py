"""Officers see held declarations, with their reasons, in a queue of their own; the staff
workspace and /healthz say how old the newest published exchange rate is."""

import datetime
import io
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from clearance import regimes
from clearance.actors import Actor
from clearance.exchange_rates import rates_import
from declarations import services
from declarations.models import Declaration, Status
from tests.conftest import assert_accessible, pass_second_factor, sign_in
from tests.declarations.helpers import declaration_data
from tests.factories import OrganisationFactory, staff_user


def held_declaration(organisation):
    return services.declaration_create(
        organisation=organisation,
        data=declaration_data(),
        submit=True,
        actor=Actor(user=organisation.owner),
    )


@pytest.mark.django_db
def test_healthz_reports_the_newest_rate_and_warns_when_it_is_too_old(client):
    regimes.load_reference_data()  # rates up to 2026-04-13, long out of force today
    body = client.get("/healthz").json()
    assert body["exchange_rates"]["newest"] == "2026-04-13"
    assert body["exchange_rates"]["stale"] is True
    assert body["exchange_rates"]["in_force_days"] == 7  # Korea's weekly customs rates
    assert "older than the 7 days a rate stays in force" in body["warnings"][0]

    today = timezone.localdate()
    rates_import(io.StringIO(f"date,currency,rate\n{today},USD,1.1\n"), source="ECB: x")
    body = client.get("/healthz").json()
    assert body["exchange_rates"]["newest"] == today.isoformat()
    assert body["exchange_rates"]["stale"] is False
    assert "warnings" not in body


@pytest.mark.django_db
def test_a_seller_cannot_open_the_held_queue(client):
    organisation = OrganisationFactory(name="Lee Goods")
    client.force_login(organisation.owner)
    assert client.get("/staff/review/held/").status_code == 404


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_officer_sees_held_declarations_with_their_reasons_and_has_them_assessed(
    page: Page, browser: Browser, live_server
):
    base = live_server.url
    regimes.load_reference_data()
    organisation = OrganisationFactory(name="Lee Goods")
    declaration = held_declaration(organisation)
    assert declaration.status == Status.HELD

    # The seller sees it held, and why, on the declaration's page.
    sign_in(page, base, organisation.owner.email)
    page.goto(f"{base}/declarations/{declaration.pk}/")
    expect(page.locator("h1")).to_contain_text("Held: not yet assessed")
    expect(page.locator("main")).to_contain_text("No exchange rate from USD to KRW")
    expect(page.locator("main")).not_to_contain_text("None")
    assert_accessible(page)

    officer = staff_user("officer")
    staff = browser.new_page()
    sign_in(staff, base, officer.email)
    pass_second_factor(staff, base, officer, "/staff/")
    expect(staff.locator("#rates-stale-heading")).to_have_text("Exchange rates are out of date")
    assert_accessible(staff)
    staff.get_by_role("link", name=re.compile("Held declarations")).click()
    row = staff.locator("#held tbody tr").first
    expect(row).to_contain_text(declaration.system_reference)
    expect(row).to_contain_text("No exchange rate from USD to KRW is in force on")
    assert_accessible(staff)

    # Rates arrive (an administrator imports them); the officer has them assessed at once.
    today = timezone.localdate()
    for day in (today, today - datetime.timedelta(days=1)):
        rates_import(
            io.StringIO(f"date,currency,rate\n{day},USD,1.08\n{day},KRW,1450\n"), source="x"
        )
    staff.get_by_role("button", name="Assess them again now").click()
    expect(staff.locator(".usa-alert, [role=status]").first).to_contain_text(
        "1 held declaration was assessed"
    )
    expect(staff.locator("#held")).to_contain_text("No declaration is held.")
    assert Declaration.objects.get(pk=declaration.pk).status == Status.SUBMITTED
    staff.close()
