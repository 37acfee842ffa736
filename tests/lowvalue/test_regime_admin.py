"""Administrators edit regimes in the admin site, with validation, history, source, certainty."""

import pytest

from clearance.models import Regime
from clearance.presets import load_presets
from tests.factories import PASSWORD, current_totp, staff_user

pytestmark = pytest.mark.django_db


def signed_in(client, role):
    user = staff_user(role)
    assert (
        client.post("/account/login/", {"username": user.email, "password": PASSWORD}).status_code
        == 302
    )
    assert client.post("/account/two-factor/", {"token": current_totp(user)}).status_code == 302
    return user


def form_data(regime, **changes):
    data = {
        name: getattr(regime, name)
        for name in (
            "economy",
            "name",
            "local_currency",
            "threshold_currency",
            "value_basis",
            "personal_use_percent",
            "tax_rate",
            "default_duty_rate",
            "collection_model",
            "vendor_tax_id_pattern",
            "consignee_id_pattern",
            "handling_fee",
            "effective_from",
            "notes",
            "source",
            "certainty",
        )
    }
    data.update(
        duty_free_up_to=regime.duty_free_up_to or "",
        tax_free_up_to=regime.tax_free_up_to or "",
        consignee_id_required="on" if regime.consignee_id_required else "",
        excluded_hs_prefixes='["24"]',
        eligible_transport_modes='["postal", "express"]',
        threshold_overrides="[]",
        aggregation_rules="[]",
    )
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def test_the_regime_list_shows_each_presets_source_and_certainty(client):
    load_presets()
    signed_in(client, "administrator")
    page = client.get("/admin/clearance/regime/").content.decode()
    assert "CBSA Customs Notice 20-18" in page
    assert "Medium: consistent secondary sources" in page
    assert Regime.objects.values("economy").distinct().count() == 21


def test_an_administrator_changes_a_limit_and_the_history_names_them(client):
    load_presets()
    admin = signed_in(client, "administrator")
    korea = Regime.objects.get(economy="KR")
    response = client.post(
        f"/admin/clearance/regime/{korea.pk}/change/", form_data(korea, duty_free_up_to="160")
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    korea.refresh_from_db()
    assert korea.duty_free_up_to == 160
    assert korea.history.first().history_user == admin
    assert "160" in client.get(f"/admin/clearance/regime/{korea.pk}/history/").content.decode()


def test_a_bad_rule_is_refused_with_a_message_naming_it(client):
    load_presets()
    signed_in(client, "administrator")
    korea = Regime.objects.get(economy="KR")
    response = client.post(
        f"/admin/clearance/regime/{korea.pk}/change/",
        form_data(korea, excluded_hs_prefixes='["2"]', consignee_id_pattern="P[0-9"),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "HS prefixes of 2, 4 or 6 digits" in page
    assert "Not a valid regular expression" in page
    korea.refresh_from_db()
    assert korea.consignee_id_pattern == r"P\d{12}"


def test_an_overlapping_period_is_refused(client):
    load_presets()
    signed_in(client, "administrator")
    korea = Regime.objects.get(economy="KR")
    response = client.post(
        "/admin/clearance/regime/add/", form_data(korea, effective_from="2026-01-01")
    )
    assert response.status_code == 200
    assert "overlaps the regime in force from 2000-01-01" in response.content.decode()


def test_an_officer_cannot_edit_regimes(client):
    load_presets()
    signed_in(client, "officer")
    assert client.get("/admin/clearance/regime/").status_code in (302, 403, 404)


def test_the_staff_overview_shows_every_regime_in_words_with_source_and_certainty(client):
    load_presets()
    signed_in(client, "administrator")
    page = client.get("/staff/regimes/").content.decode()
    assert "Chinese Taipei (TW)" in page
    assert "At most 6 parcels per person per half-year may use this mode." in page
    assert "Executive Order 14324; CBP guidance" in page
    assert "None: not found" in page  # Papua New Guinea
    korea = Regime.objects.get(economy="KR")
    assert f"/admin/clearance/regime/{korea.pk}/history/" in page


def test_the_staff_overview_is_a_404_for_an_officer(client):
    signed_in(client, "officer")
    assert client.get("/staff/regimes/").status_code == 404


def test_exchange_rates_are_read_only_in_the_admin(client):
    signed_in(client, "administrator")
    assert client.get("/admin/clearance/exchangerate/").status_code == 200
    assert client.get("/admin/clearance/exchangerate/add/").status_code == 403
