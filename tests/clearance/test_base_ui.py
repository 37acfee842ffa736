import re
from datetime import timedelta

import pytest
from django.utils import timezone

from clearance.models import Notification
from clearance.tasks import sweep_notification_outbox
from tests.conftest import wait_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_pages_carry_a_csp_with_a_nonce_that_the_inline_style_uses(client):
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert "script-src 'self' 'nonce-" in policy
    assert f'<style nonce="{nonce}">' in response.content.decode()
    assert response["Referrer-Policy"] == "same-origin"


def test_the_layout_has_a_skip_link_and_landmarks(client):
    page = client.get("/").content.decode()
    assert '<a class="usa-skipnav" href="#main-content">' in page
    assert '<main id="main-content"' in page
    assert "<header" in page and "<footer" in page and "<nav" in page


def test_htmx_and_the_design_system_are_served_from_our_own_static_files(client):
    page = client.get("/").content.decode()
    for path in ("/static/htmx/htmx.min.js", "/static/uswds/css/uswds.min.css"):
        assert path in page
        response = client.get(path)
        assert response.status_code == 200
        b"".join(response.streaming_content)


def test_the_language_switcher_turns_the_page_korean(client):
    client.post("/i18n/setlang/", {"language": "ko", "next": "/"})
    page = client.get("/").content.decode()
    assert '<html lang="ko"' in page
    assert "본문 바로가기" in page


def test_navigation_follows_the_role(client):
    seller = UserFactory()
    client.force_login(seller)
    page = client.get("/").content.decode()
    assert 'href="/dashboard/"' in page
    assert 'href="/staff/"' not in page


@pytest.mark.django_db(transaction=True)
def test_the_sweeper_sends_an_email_whose_message_was_lost(celery_worker, mailbox):
    user = UserFactory(email="lost@example.test")
    # As if the task message was lost: the row is pending and old, and no task was queued.
    Notification.objects.create(
        recipient=user,
        event="account_ready",
        subject="s",
        body="b",
        context={"name": "Lost"},
        created_at=timezone.now() - timedelta(minutes=10),
    )
    assert sweep_notification_outbox() == 1
    [message] = mailbox.wait_for("lost@example.test")
    assert "Hello Lost" in mailbox.text(message)
    wait_for(lambda: Notification.objects.get(recipient=user).email_status == "sent")


def test_the_portal_has_an_icon(client):
    page = client.get("/").content.decode()
    assert 'rel="icon" href="/static/clearance/favicon.svg"' in page
    assert client.get("/favicon.ico")["Location"] == "/static/clearance/favicon.svg"
    icon = client.get("/static/clearance/favicon.svg")
    assert icon.status_code == 200
    assert b"<svg" in b"".join(icon.streaming_content)
