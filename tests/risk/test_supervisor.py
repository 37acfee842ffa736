"""Supervisors tune rules and lanes, with validation, history and a what-if preview."""

import pytest

from clearance.models import Role
from clearance.risk import scoring as risk
from clearance.risk.models import RiskRule, RiskScore, RiskSettings
from declarations import services
from tests.declarations.helpers import declaration_data
from tests.factories import current_totp, staff_user

pytestmark = pytest.mark.django_db


def signed_in(client, role):
    user = staff_user(role)
    client.force_login(user)
    client.post("/account/two-factor/", {"token": current_totp(user)})
    return user


def rule_form(**overrides):
    data = {
        "name": "Watches",
        "kind": "hs_prefix",
        "params": '{"prefixes": ["9102"]}',
        "points": "25",
        "enabled": "on",
        "effective_from": "2024-01-01",
        "effective_to": "",
        "reason_template": "Watches: HS {value}.",
        "preview_days": "7",
    }
    data.update(overrides)
    return data


@pytest.fixture
def scored(regime, organisation, actor):
    RiskSettings.objects.update_or_create(pk=1, defaults={"random_share": 0})
    RiskRule.objects.all().delete()
    ids = [
        o.declaration.pk
        for o in services.declarations_create(
            organisation=organisation,
            items=[declaration_data() for _ in range(3)],
            submit=True,
            actor=actor,
        )
    ]
    risk.score_declarations(ids)
    return ids


def test_a_supervisor_adds_a_rule_and_its_history_names_them(client):
    supervisor = signed_in(client, Role.SUPERVISOR)
    response = client.post("/staff/risk/rules/new/", rule_form())
    assert response.status_code == 302
    rule = RiskRule.objects.get(name="Watches")
    assert rule.params == {"prefixes": ["9102"]}
    assert rule.history.first().history_user == supervisor
    page = client.get(f"/staff/risk/rules/{rule.pk}/").content.decode()
    assert "9102" in page


def test_a_rule_with_wrong_parameters_is_refused_with_the_reason(client):
    signed_in(client, Role.SUPERVISOR)
    response = client.post("/staff/risk/rules/new/", rule_form(params='{"prefixes": ["91x"]}'))
    assert response.status_code == 200
    assert "Parameter prefixes is not a valid digits value." in response.content.decode()
    assert not RiskRule.objects.filter(name="Watches").exists()


def test_the_preview_counts_lanes_before_and_after_without_saving(scored, client):
    signed_in(client, Role.SUPERVISOR)
    before = list(RiskScore.objects.values_list("lane", flat=True))
    response = client.post(
        "/staff/risk/rules/new/",
        rule_form(params='{"prefixes": ["8518"]}', points="80", preview="1"),
    )
    preview = response.context["preview"]
    assert preview.declarations == 3
    assert (preview.before["green"], preview.after["red"]) == (3, 3)
    assert len(preview.sample) == 3
    assert not RiskRule.objects.exists()
    assert list(RiskScore.objects.values_list("lane", flat=True)) == before


def test_the_lanes_preview_and_save_with_history(scored, client):
    supervisor = signed_in(client, Role.SUPERVISOR)
    form = {"yellow_from": "0", "red_from": "50", "random_share": "0", "review_hours": "12"}
    preview = client.post("/staff/risk/lanes/", {**form, "preview": "1", "preview_days": "7"})
    assert preview.context["preview"].after["yellow"] == 3
    assert RiskSettings.current().review_hours == 24
    saved = client.post("/staff/risk/lanes/", {**form, "preview_days": "7"})
    assert saved.status_code == 302
    current = RiskSettings.current()
    assert (current.yellow_from, current.review_hours) == (0, 12)
    assert current.history.first().history_user == supervisor


def test_red_must_start_above_yellow(client):
    signed_in(client, Role.SUPERVISOR)
    form = {"yellow_from": "50", "red_from": "50", "random_share": "0", "review_hours": "12"}
    response = client.post("/staff/risk/lanes/", {**form, "preview_days": "7"})
    assert response.status_code == 200
    assert "Red must start above yellow." in response.content.decode()


def test_an_officer_cannot_open_the_rule_pages(client):
    signed_in(client, Role.OFFICER)
    assert client.get("/staff/risk/rules/").status_code == 404
    assert client.post("/staff/risk/rules/new/", rule_form()).status_code == 404
    assert client.get("/staff/risk/lanes/").status_code == 404
