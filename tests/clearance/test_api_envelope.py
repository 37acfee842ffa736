import logging

import pytest
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from clearance.api import flatten_errors
from clearance.errors import ServiceError


class Line(serializers.Serializer[dict[str, str]]):
    hs_code = serializers.RegexField(r"^\d{6}$")


class Body(serializers.Serializer[dict[str, object]]):
    currency = serializers.CharField(max_length=3)
    lines = Line(many=True)


class Echo(APIView):
    permission_classes = [AllowAny]

    def post(self, request):
        if request.data.get("refuse"):
            raise ServiceError("This declaration was released.", field="status", code="released")
        Body(data=request.data).is_valid(raise_exception=True)
        return None


def call(data):
    request = APIRequestFactory().post("/x", data, format="json")
    return Echo.as_view()(request)


def test_nested_serializer_errors_become_field_paths():
    response = call({"currency": "USDX", "lines": [{"hs_code": "851830"}, {"hs_code": "85"}]})
    assert response.status_code == 400
    assert response.data["code"] == "invalid"
    fields = {e["field"]: e["code"] for e in response.data["errors"]}
    assert fields == {"currency": "max_length", "lines[1].hs_code": "invalid"}


def test_a_business_rule_refusal_is_a_422_in_the_same_envelope():
    response = call({"refuse": True})
    assert response.status_code == 422
    assert response.data == {
        "code": "released",
        "message": "This declaration was released.",
        "errors": [
            {"field": "status", "code": "released", "message": "This declaration was released."}
        ],
    }


def test_flatten_keeps_non_field_errors_at_the_top():
    detail = serializers.ValidationError({"non_field_errors": ["Too many lines."]}).detail
    assert flatten_errors(detail) == [
        {"field": "", "code": "invalid", "message": "Too many lines."}
    ]


@pytest.mark.django_db
def test_every_response_carries_a_correlation_id_that_the_logs_repeat(client, caplog):
    response = client.get("/healthz", HTTP_X_CORRELATION_ID="ticket-4711")
    assert response["X-Correlation-ID"] == "ticket-4711"
    fresh = client.get("/healthz", HTTP_X_CORRELATION_ID="bad id with spaces")
    assert (
        fresh["X-Correlation-ID"] != "bad id with spaces" and len(fresh["X-Correlation-ID"]) == 32
    )
    with caplog.at_level(logging.WARNING, logger="django.request"):
        client.get("/no-such-page/", HTTP_X_CORRELATION_ID="trace-1")
    assert any(getattr(r, "correlation_id", None) == "trace-1" for r in caplog.records)
