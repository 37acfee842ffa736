"""The API changelog page, deprecation headers, the 410 after a sunset, and the rule that a
breaking change waits the consultation lead time and moves to a newer version path."""

from datetime import timedelta
from email.utils import parsedate_to_datetime

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Page, expect

from clearance import api_changes
from clearance.api_changes import Deprecation
from clearance.services import apikey_create
from tests.conftest import assert_accessible
from tests.declarations.helpers import client_for


def hs_codes_going(*, deprecated_days_ago: int, sunset_in_days: int) -> Deprecation:
    now = timezone.now().replace(microsecond=0)
    announced = now - timedelta(days=deprecated_days_ago + 1)
    return Deprecation(
        method="GET",
        route="api/v1/hs-codes/",
        announced=announced.date(),
        deprecated=now - timedelta(days=deprecated_days_ago),
        sunset=now + timedelta(days=sunset_in_days),
        successor="/api/v2/hs-codes/",
    )


@pytest.fixture
def api(organisation, owner):
    _key, secret = apikey_create(organisation=organisation, name="Shop system", by=owner)
    return client_for(secret)


@pytest.mark.django_db
def test_a_deprecated_operation_says_so_until_its_sunset(api, monkeypatch, settings):
    settings.CONSULTATION_MIN_LEAD_DAYS = 30
    going = hs_codes_going(deprecated_days_ago=2, sunset_in_days=40)
    monkeypatch.setattr(api_changes, "DEPRECATIONS", (going,))
    assert api_changes.deprecation_problems((going,)) == []

    response = api.get("/api/v1/hs-codes/", {"q": "cotton"})

    assert response.status_code == 200
    assert response["Deprecation"] == f"@{int(going.deprecated.timestamp())}"
    assert parsedate_to_datetime(response["Sunset"]) == going.sunset
    assert f'/api/changelog/#{going.anchor}>; rel="deprecation"' in response["Link"]
    assert '/api/v2/hs-codes/>; rel="successor-version"' in response["Link"]
    # Other operations carry no such header.
    assert "Deprecation" not in api.get("/api/v1/events/")

    schema = api.get("/api/v1/schema/", {"format": "json"}).json()
    assert schema["paths"]["/api/v1/hs-codes/"]["get"]["deprecated"] is True
    assert "deprecated" not in schema["paths"]["/api/v1/events/"]["get"]

    page = api.get("/api/changelog/")
    assert f'id="{going.anchor}"' in page.content.decode()
    assert "/api/v2/hs-codes/" in page.content.decode()


@pytest.mark.django_db
def test_after_its_sunset_an_operation_answers_410_naming_its_successor(api, monkeypatch):
    gone = hs_codes_going(deprecated_days_ago=60, sunset_in_days=-1)
    monkeypatch.setattr(api_changes, "DEPRECATIONS", (gone,))

    response = api.get("/api/v1/hs-codes/", {"q": "cotton"})

    assert response.status_code == 410
    assert response.json()["code"] == "gone"
    assert "/api/v2/hs-codes/" in response.json()["message"]
    assert "Sunset" in response


@pytest.mark.django_db
def test_a_breaking_change_must_wait_the_lead_time_and_move_to_a_newer_version(settings):
    settings.CONSULTATION_MIN_LEAD_DAYS = 30
    too_soon = hs_codes_going(deprecated_days_ago=0, sunset_in_days=10)
    same_version = Deprecation(
        method="GET",
        route="api/v1/hs-codes/",
        announced=too_soon.announced,
        deprecated=too_soon.deprecated,
        sunset=too_soon.deprecated + timedelta(days=90),
        successor="/api/v1/hs-codes/search/",
    )
    unknown = Deprecation(
        method="GET",
        route="api/v1/nothing/",
        announced=too_soon.announced,
        deprecated=too_soon.deprecated,
        sunset=too_soon.deprecated + timedelta(days=90),
        successor="/api/v2/nothing/",
    )

    problems = api_changes.deprecation_problems((too_soon, same_version, unknown))

    assert problems == [
        "GET /api/v1/hs-codes/: the sunset must come at least CONSULTATION_MIN_LEAD_DAYS (30) "
        "after the announcement.",
        "GET /api/v1/hs-codes/: the successor must be in a newer version path.",
        "GET /api/v1/nothing/: no such route.",
    ]


def test_the_release_keeps_the_promise():
    """What ships passes the system check that refuses a release breaking it."""
    assert api_changes.check_deprecations() == []
    call_command("check", "--fail-level", "ERROR", tags=["urls"])
    kinds = {change.kind for change in api_changes.CHANGES}
    assert kinds <= set(api_changes.KINDS)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_changelog_is_public_and_accessible_in_both_languages(page: Page, live_server):
    page.goto(live_server.url + "/api/changelog/")
    expect(page.locator("h1")).to_have_text("API changelog")
    expect(page.get_by_text("Nothing is scheduled to go.")).to_be_visible()
    expect(page.locator("time").first).to_have_attribute("datetime", "2026-12-02")
    assert_accessible(page)

    page.context.add_cookies([{"name": "django_language", "value": "ko", "url": live_server.url}])
    page.reload()
    expect(page.locator("h1")).not_to_have_text("API changelog")
    assert_accessible(page)
