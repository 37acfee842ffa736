"""The filing API as a platform uses it: every endpoint, for the owner and for another org."""

import pytest
from django.core.management import CommandError, call_command
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from clearance.actors import Actor
from clearance.models import ApiKey
from clearance.services import apikey_revoke
from declarations import services
from declarations.api import Cursor
from declarations.models import Declaration, Status
from tests.declarations.helpers import client_for, declaration_data

pytestmark = pytest.mark.django_db


def test_a_request_without_a_valid_key_is_refused(api_key):
    assert APIClient().get("/api/v1/declarations/").status_code == 401
    response = client_for("lv_deadbeef_nothing").get("/api/v1/declarations/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    apikey_revoke(api_key=api_key, by=None)
    assert client_for(api_key.secret).get("/api/v1/declarations/").status_code == 401


def test_creating_a_draft_returns_it_with_read_only_fields(api, api_key):
    response = api.post("/api/v1/declarations/", declaration_data(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft"
    assert body["system_reference"].startswith("LV-")
    assert body["lines"][0]["value"] == "39.90"
    assert body["status_history"][0]["to_status"] == "draft"
    assert response["X-Correlation-ID"]
    declaration = Declaration.objects.get(pk=body["id"])
    assert declaration.history.get().history_api_key == api_key


def test_creating_with_submit_true_submits_at_once(api, rates_today):
    response = api.post(
        "/api/v1/declarations/", {**declaration_data(), "submit": True}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "submitted"
    assert body["submitted_at"]
    assert body["assessment"]["total_due"]["currency"] is not None
    assert [c["to_status"] for c in body["status_history"]] == ["draft", "submitted"]


def test_invalid_input_lists_every_error_by_field_path(api):
    data = declaration_data(currency="USD")
    data["lines"][1]["description"] = "gift"
    data["lines"][0]["value"] = "1.999"
    response = api.post("/api/v1/declarations/", {**data, "submit": True}, format="json")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid"
    fields = {e["field"]: e["code"] for e in body["errors"]}
    assert fields == {"lines[1].description": "vague", "lines[0].value": "decimal_places"}
    assert not Declaration.objects.exists()


def test_the_list_is_filtered_and_paged_by_cursor(api, organisation, actor):
    made = [
        services.declaration_create(
            organisation=organisation, data=declaration_data(), submit=i % 2 == 0, actor=actor
        )
        for i in range(5)
    ]
    seen = []
    url = "/api/v1/declarations/?status=submitted"
    page = api.get(url).json()
    seen += [d["id"] for d in page["results"]]
    assert seen == [d.pk for d in reversed(made) if d.status == Status.SUBMITTED]
    by_ref = api.get(f"/api/v1/declarations/?reference={made[1].reference}").json()
    assert [d["id"] for d in by_ref["results"]] == [made[1].pk]
    later = api.get("/api/v1/declarations/?created_after=2999-01-01T00:00:00Z").json()
    assert later["results"] == []


def test_the_cursor_walks_every_page_once(api, organisation, actor, monkeypatch):
    monkeypatch.setattr(Cursor, "page_size", 2)
    ids = {
        services.declaration_create(
            organisation=organisation, data=declaration_data(), submit=False, actor=actor
        ).pk
        for _ in range(5)
    }
    seen, url = [], "/api/v1/declarations/"
    while url:
        page = api.get(url).json()
        seen += [d["id"] for d in page["results"]]
        url = page["next"]
    assert sorted(seen) == sorted(ids)


def test_a_bad_cursor_or_filter_is_a_400_naming_it(api):
    for query, field in (
        ("cursor=not-a-cursor", "cursor"),
        ("status=lost", "status"),
        ("created_after=yesterday", "created_after"),
    ):
        response = api.get(f"/api/v1/declarations/?{query}")
        assert response.status_code == 400, query
        assert response.json()["errors"][0]["field"] == field


def test_a_body_outside_the_schema_is_a_400_and_a_rule_a_422(api):
    wrong = declaration_data(currency="usd", tax_collected_at_sale="yes")
    wrong["lines"][0]["quantity"] = 2
    response = api.post("/api/v1/declarations/", wrong, format="json")
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"currency", "tax_collected_at_sale", "lines[0].quantity"}
    unknown = declaration_data()
    unknown["lines"][0]["hs_code"] = "999999"
    refused = api.post("/api/v1/declarations/", unknown, format="json")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "lines[0].hs_code"
    assert not Declaration.objects.exists()


def test_hs_codes_need_words(api):
    response = api.get("/api/v1/hs-codes/")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "q"


def test_another_organisation_sees_none_of_it(stranger, declaration):
    base = f"/api/v1/declarations/{declaration.pk}/"
    assert stranger.get(base).status_code == 404
    assert stranger.patch(base, {"carrier": "X"}, format="json").status_code == 404
    assert stranger.post(base + "submit/").status_code == 404
    assert stranger.post(base + "cancel/").status_code == 404
    assert stranger.get("/api/v1/declarations/").json()["results"] == []
    declaration.refresh_from_db()
    assert declaration.status == Status.DRAFT


def test_get_patch_submit_and_cancel_for_the_owner(api, declaration, api_key, rates_today):
    base = f"/api/v1/declarations/{declaration.pk}/"
    assert api.get(base).json()["reference"] == declaration.reference
    patched = api.patch(base, {"carrier": "Slow Post", "seller": {"name": "New"}}, format="json")
    assert patched.status_code == 200, patched.json()
    assert patched.json()["carrier"] == "Slow Post"
    assert patched.json()["seller"] == {
        "name": "New",
        "address": "1 Market St, Shenzhen",
        "country": "CN",
    }
    submitted = api.post(base + "submit/")
    assert submitted.json()["status"] == "submitted"
    amended = api.patch(base, {"lines": declaration_data()["lines"][:1]}, format="json")
    assert amended.status_code == 200
    assert amended.json()["version"] == 2
    cancelled = api.post(base + "cancel/")
    assert cancelled.json()["status"] == "cancelled"
    again = api.post(base + "cancel/")
    assert again.status_code == 422
    assert again.json()["code"] == "invalid_transition"
    history = declaration.history.all()
    assert {h.history_api_key for h in history if h.history_user is None} == {api_key}


def test_a_batch_mixing_valid_and_invalid_declarations(api, organisation, rates_today):
    bad = declaration_data()
    bad["lines"][0]["hs_code"] = "999999"
    duplicate = declaration_data()
    items = [declaration_data(), bad, duplicate, dict(duplicate)]
    response = api.post(
        "/api/v1/declarations/batch/", {"declarations": items, "submit": True}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["failed"]) == (2, 2)
    results = body["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3]
    assert results[0]["status"] == "submitted"
    assert results[1]["errors"][0]["field"] == "lines[0].hs_code"
    assert results[3]["errors"][0]["code"] == "duplicate"
    assert Declaration.objects.filter(organisation=organisation).count() == 2


def test_a_batch_has_at_most_a_thousand(api):
    items = [{"reference": str(i)} for i in range(1001)]
    response = api.post("/api/v1/declarations/batch/", {"declarations": items}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "declarations"


def test_hs_codes_are_found_by_words(api):
    response = api.get("/api/v1/hs-codes/?q=bluetooth headphones")
    assert response.status_code == 200
    assert "851830" in [r["code"] for r in response.json()["results"][:3]]


def test_the_same_body_replayed_gives_the_same_answer_and_one_row(api):
    body = declaration_data()
    first = api.post("/api/v1/declarations/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = api.post("/api/v1/declarations/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Declaration.objects.count() == 1


def test_the_same_key_with_another_body_is_refused(api):
    api.post("/api/v1/declarations/", declaration_data(), format="json", HTTP_IDEMPOTENCY_KEY="k")
    other = api.post(
        "/api/v1/declarations/", declaration_data(), format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert Declaration.objects.count() == 1


def test_keys_of_different_organisations_do_not_collide(api, stranger):
    first = api.post(
        "/api/v1/declarations/", declaration_data(), format="json", HTTP_IDEMPOTENCY_KEY="same"
    )
    second = stranger.post(
        "/api/v1/declarations/", declaration_data(), format="json", HTTP_IDEMPOTENCY_KEY="same"
    )
    assert first.status_code == second.status_code == 201
    assert Declaration.objects.count() == 2


def test_the_schema_is_valid_openapi_3_and_the_docs_are_readable(client):
    response = client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    assert "/api/v1/declarations/batch/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"/api/v1/declarations/{id}/submit/" in docs.content


def test_create_api_key_makes_the_organisation_and_prints_the_key_last(capsys):
    call_command("create_api_key", "--org", "Parcel Platform", "--create", "platform")
    key = capsys.readouterr().out.strip().splitlines()[-1]
    response = client_for(key).get("/api/v1/declarations/")
    assert response.status_code == 200
    call_command("create_api_key", "--org", "parcel platform")
    second = capsys.readouterr().out.strip().splitlines()[-1]
    assert second != key

    assert ApiKey.objects.filter(organisation__name="Parcel Platform").count() == 2
    assert not ApiKey.objects.filter(secret_hash=key).exists()


def test_create_api_key_refuses_an_unknown_organisation_without_create():
    with pytest.raises(CommandError):
        call_command("create_api_key", "--org", "Nobody")


def test_an_api_key_actor_is_recorded_on_status_changes(api, declaration, api_key):
    api.post(f"/api/v1/declarations/{declaration.pk}/submit/")
    change = declaration.status_changes.last()
    assert change.by_key == api_key
    assert change.by is None
    assert Actor.of(None, api_key).api_key == api_key
