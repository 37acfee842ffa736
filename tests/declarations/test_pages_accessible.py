"""In headless Chromium: the CSV, API key and API documentation pages pass axe-core."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import assert_accessible
from tests.declarations.test_csv import make_file
from tests.factories import PASSWORD, OrganisationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_csv_upload_api_keys_and_docs_pages(page: Page, live_server, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    organisation = OrganisationFactory(name="Lee Goods")
    base = live_server.url
    page.goto(base + "/account/login/")
    page.locator("#id_username").fill(organisation.owner.email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form.usa-form button[type=submit]").click()
    expect(page).to_have_url(re.compile("/dashboard/"))

    page.goto(base + "/declarations/upload/")
    assert_accessible(page)
    content, _bad = make_file(4, 2, bad_every=3)
    path = tmp_path / "four.csv"
    path.write_bytes(content)
    page.locator("input[type=file]").set_input_files(str(path))
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator("#summary")).to_contain_text("2 valid declarations, 2 with errors")
    assert_accessible(page)
    page.get_by_role("button", name=re.compile("Submit only the 2 valid")).click()
    expect(page.locator("#imported")).to_contain_text("2 declarations submitted")
    assert_accessible(page)

    page.goto(base + "/declarations/api-keys/")
    page.locator("#id_name").fill("Warehouse system")
    page.get_by_role("button", name="Make a key").click()
    expect(page.locator("#new-key")).to_contain_text("lv_")
    assert_accessible(page)

    page.goto(base + "/api/v1/docs/")
    expect(page.locator("h1")).to_contain_text("API")
    assert_accessible(page)
