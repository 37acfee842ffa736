"""The API's contract as the schema states it: request bodies are JSON, except where files are
sent (multipart), and the server holds to what the schema says."""

import pytest
import yaml

pytestmark = pytest.mark.django_db

# The operations that take files are multipart only; every other body is JSON only. One
# content type per operation: a generated client cannot take two.
UPLOADS = {
    ("post", "/api/v1/declarations/upload/"): ["multipart/form-data"],
    ("post", "/api/v1/declarations/{id}/documents/"): ["multipart/form-data"],
    # Text, with documents or evidence as files when there are any.
    ("post", "/api/v1/declarations/{id}/information/"): ["multipart/form-data"],
    ("post", "/api/v1/refunds/"): ["multipart/form-data"],
}


def test_request_bodies_are_json_except_where_files_are_sent(client):
    schema = yaml.safe_load(client.get("/api/v1/schema/").content)
    bodies = {
        (method, path): sorted(operation["requestBody"]["content"])
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    }
    assert {k: v for k, v in bodies.items() if k in UPLOADS} == UPLOADS
    assert {k: v for k, v in bodies.items() if k not in UPLOADS} == {
        k: ["application/json"] for k in bodies if k not in UPLOADS
    }
    assert ("post", "/api/v1/declarations/") in bodies


def test_a_form_body_to_a_json_operation_is_refused_in_the_envelope(api):
    response = api.post("/api/v1/declarations/", {"reference": "A-1"}, format="multipart")
    assert response.status_code == 415
    body = response.json()
    assert body["code"] == "unsupported_media_type" and body["errors"] == []


def test_a_json_body_to_a_multipart_operation_is_refused_in_the_envelope(api):
    response = api.post(
        "/api/v1/refunds/", {"declaration": 1, "reason": "duplicate", "amount": "1"}, format="json"
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_every_error_status_is_documented_in_the_envelope(client):
    schema = yaml.safe_load(client.get("/api/v1/schema/").content)
    assert set(schema["components"]["schemas"]["Error"]["required"]) == {
        "code",
        "message",
        "errors",
    }
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for code, response in responses.items():
                if code.startswith("4"):
                    content = response["content"]["application/json"]["schema"]
                    assert content == {"$ref": "#/components/schemas/Error"}, (method, path)
            if any("ApiKey" in s for s in operation.get("security", [])):
                assert "401" in responses, (method, path)
            if any(p["in"] == "path" for p in operation.get("parameters", [])):
                assert "404" in responses, (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= set(responses), (method, path)


def test_an_address_no_api_route_matches_is_a_json_404(client):
    response = client.get("/api/v1/declarations/not-a-number/documents/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "Not found.", "errors": []}
