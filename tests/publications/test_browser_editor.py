"""In headless Chromium: an editor moderates a comment and works a consultation; the editor
pages pass the accessibility check."""

import re

import pytest
from playwright.sync_api import Page, expect

from publications.models import Comment
from tests.conftest import assert_accessible
from tests.factories import PASSWORD, UserFactory, current_totp, staff_user
from tests.publications.helpers import open_consultation
from tests.publications.test_comments import submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_editor_approves_a_comment_and_groups_it_under_a_theme(page: Page, live_server):
    base = live_server.url
    consultation = open_consultation()
    comment = submit(consultation, body="Count working days only.", user=UserFactory())
    editor = staff_user("editor")
    page.goto(base + "/account/login/")
    page.locator("#id_username").fill(editor.email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form.usa-form button[type=submit]").click()
    page.goto(base + "/publications/editor/")
    page.locator("#id_token").fill(current_totp(editor))
    page.locator("form.usa-form button[type=submit]").click()
    expect(page).to_have_url(re.compile("/publications/editor/$"))
    assert_accessible(page)

    page.get_by_role("button", name=f"Publish {comment.tracking_number}").click()
    expect(page.locator(".usa-alert")).to_contain_text(comment.tracking_number)
    assert Comment.objects.get(pk=comment.pk).status == Comment.Status.PUBLISHED

    page.goto(base + f"/publications/editor/consultations/{consultation.pk}/")
    assert_accessible(page)
    page.locator("#id_theme-title").fill("Counting days")
    page.get_by_role("button", name="Add theme").click()
    page.locator(f"#theme-{comment.pk}").select_option(label="Counting days")
    page.locator(f"#theme-{comment.pk}").locator("xpath=..").get_by_role("button").click()
    expect(page.locator(f"#theme-{comment.pk}")).to_have_value(str(consultation.themes.get().pk))
    assert_accessible(page)

    page.goto(base + "/publications/editor/texts/")
    assert_accessible(page)
