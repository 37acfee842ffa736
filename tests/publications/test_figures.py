"""Figures that texts state and the portal enforces come from one source: the settings and
the regime in force, named by placeholders in the text."""

import html
import io
import re
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command

from clearance.errors import ServiceError
from clearance.models import Regime
from clearance.presets import load_presets
from clearance.regime_rules import regime_save
from publications import demo, publishing
from publications.models import Publication, Version
from publications.tasks import refresh_figures
from tests.publications.helpers import publication, published
from tests.publications.test_comments import sign_in_editor

pytestmark = pytest.mark.django_db

NBSP = "\u00a0"
THRESHOLD_TEXT = (
    "# The threshold\n\nDuty free up to {{ threshold }}; {{ threshold_us }} for goods shipped "
    "from the United States. Tax free up to {{ tax_threshold }}."
)


def words(content: bytes) -> str:
    """The visible words of a page, one space apart."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", content.decode()))
    return " ".join(text.replace(NBSP, " ").split())


def regime(**fields):
    values = {"economy": "KR", "name": "KR low-value imports", "local_currency": "KRW",
              "threshold_currency": "USD", **fields}  # fmt: skip
    return regime_save(regime=Regime(**values), by=None)


def test_the_returns_policy_states_the_period_the_refunds_enforce(client, settings):
    settings.REFUND_RETURN_PERIOD_DAYS = 200
    load_presets()
    demo.seed(editor=None)
    page = words(client.get("/publications/returns-policy/", HTTP_ACCEPT_LANGUAGE="en").content)
    assert "within 200 days of release" in page
    korean = words(client.get("/publications/returns-policy/", HTTP_ACCEPT_LANGUAGE="ko").content)
    assert "반출 후 200일 이내에" in korean
    procedure = words(client.get("/publications/refund-procedure/").content)
    assert "within 200 days of release" in procedure
    proposal = words(client.get("/publications/consultations/").content)
    assert "Extending the returns period to 365 days" in proposal


def test_a_changed_setting_reaches_the_page_the_api_and_the_search_index_together(client, settings):
    load_presets()
    demo.seed(editor=None)
    settings.REFUND_RETURN_PERIOD_DAYS = 250
    settings.STATEMENT_PAYMENT_DAYS = 20
    out = io.StringIO()
    call_command("refresh_publication_figures", stdout=out)
    # The returns policy (en, ko), the refund procedure and the deferred payment accounts.
    assert out.getvalue().strip() == "Rendered 4 texts again."
    assert refresh_figures() == 0  # texts that agree are left alone

    page = words(client.get("/publications/returns-policy/").content)
    assert "within 250 days of release" in page
    [api] = [
        v for v in client.get("/api/v1/publications/returns-policy/versions/").json()["results"]
        if v["language"] == "en" and v["status"] == "published"
    ]  # fmt: skip
    assert "within\n250 days of release" in api["body"]
    assert "{{" not in api["body"]
    found = Version.objects.search("250 days").filter(publication__slug="returns-policy")
    assert "250" in found.get(language="en").snippet
    statements = words(client.get("/publications/deferred-payment-accounts/").content)
    assert "due 20 days after it is issued" in statements


def test_the_threshold_regulation_states_the_regimes_amounts(client):
    load_presets()  # KR: 150 USD, 200 USD for goods shipped from the United States
    demo.seed(editor=None)
    page = words(client.get("/publications/de-minimis-threshold/").content)
    assert "The threshold is 150.00 USD; for goods shipped from the United States it is " in page
    assert "200.00 USD" in page
    assert "up to 150.00 USD (200.00 USD for goods shipped from the United States)" in page


def test_an_old_version_states_the_threshold_in_force_on_its_effective_date(client, settings):
    settings.PORTAL_ECONOMY = "KR"
    regime(duty_free_up_to=Decimal(100), tax_free_up_to=Decimal(100),
           effective_from=date(2020, 1, 1), effective_to=date(2024, 12, 31))  # fmt: skip
    regime(duty_free_up_to=Decimal(150), tax_free_up_to=Decimal(120),
           threshold_overrides=[{"origins": ["US"], "duty_free_up_to": "200",
                                 "tax_free_up_to": "200"}],
           effective_from=date(2025, 1, 1))  # fmt: skip
    pub = publication(kind="regulation")
    old = published(pub, body=THRESHOLD_TEXT, effective=date(2024, 6, 1))
    new = published(pub, body=THRESHOLD_TEXT, effective=date(2025, 6, 1))
    assert old.figures == {
        "threshold": f"100.00{NBSP}USD",
        "threshold_us": f"100.00{NBSP}USD",  # no override for the US then
        "tax_threshold": f"100.00{NBSP}USD",
    }
    current = words(client.get(f"/publications/{pub.slug}/").content)
    assert "Duty free up to 150.00 USD; 200.00 USD for goods shipped" in current
    assert "Tax free up to 120.00 USD." in current
    then = words(client.get(f"/publications/{pub.slug}/", {"on": "2024-07-01"}).content)
    assert "Duty free up to 100.00 USD; 100.00 USD for goods shipped" in then
    diff = words(
        client.get(f"/publications/{pub.slug}/diff/", {"from": old.pk, "to": new.pk}).content
    )
    assert "Removed: Duty free up to 100.00 USD" in diff
    assert "Added: Duty free up to 150.00 USD" in diff


def test_an_unknown_placeholder_is_refused_when_the_version_is_saved():
    with pytest.raises(ServiceError) as error:
        publishing.version_create(
            publication=publication(), language="en", title="Returns", by=None,
            body="Refunds within {{ return_days }} days.",
        )  # fmt: skip
    assert (error.value.field, error.value.code) == ("body", "unknown_placeholder")
    assert "{{ return_days }}" in error.value.message
    assert not Version.objects.exists()


@pytest.mark.parametrize(
    "placeholder",
    ["{{ threshold_zz }}", "{{ settings.SECRET_KEY }}", "{{ x|safe }}", "{{}}",
     "{{ returns_period_days }"],
)  # fmt: skip
def test_only_the_whitelisted_figures_are_placeholders(placeholder):
    with pytest.raises(ServiceError) as error:
        publishing.version_create(
            publication=publication(), language="en", title="T", body=placeholder, by=None
        )
    assert error.value.field == "body"
    assert error.value.code in ("unknown_placeholder", "unclosed_placeholder")


def test_a_placeholder_in_the_title_or_summary_is_refused():
    with pytest.raises(ServiceError) as error:
        publishing.version_create(
            publication=publication(), language="en", title="{{ threshold }} rule",
            body="text", by=None,
        )  # fmt: skip
    assert error.value.field == "title"


def test_the_editor_sees_the_unknown_placeholder_on_the_text_field(client):
    sign_in_editor(client)
    page = client.post(
        "/publications/editor/texts/",
        {"publication-slug": "returns", "publication-kind": "returns_policy",
         "version-language": "en", "version-title": "Returns",
         "version-body": "# Refunds\n\nWithin {{ return_days }} days.",
         "version-change_kind": "major"},
    ).content.decode()  # fmt: skip
    assert 'href="#id_version-body"' in page
    assert "{{ return_days }} is not a figure the portal knows" in html.unescape(page)
    assert not Publication.objects.filter(slug="returns").exists()


def test_a_figure_is_filled_in_before_the_text_is_sanitised(settings):
    settings.REFUND_RETURN_PERIOD_DAYS = 90
    version = published(
        body="# Refunds\n\n<script>alert(1)</script>Within **{{ returns_period_days }}** days."
    )
    assert "<strong>90</strong>" in version.body_html
    assert "<script" not in version.body_html
    assert "90" in version.plain_text
