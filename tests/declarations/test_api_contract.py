"""The API's contract as the schema states it: request bodies are JSON, except where files are
sent (multipart), and the server holds to what the schema says."""

import pytest
import yaml

pytestmark = pytest.mark.django_db

# The operations that take files; every other body is JSON only.
UPLOADS = {
    ("post", "/api/v1/declarations/upload/"): ["multipart/form-data"],
    ("post", "/api/v1/declarations/{id}/documents/"): ["multipart/form-data"],
    # Text, with documents or evidence as files when there are any.
    ("post", "/api/v1/declarations/{id}/information/"): [
        "application/json",
        "multipart/form-data",
    ],
    ("post", "/api/v1/refunds/"): ["application/json", "multipart/form-data"],
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
