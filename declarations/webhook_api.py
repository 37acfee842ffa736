"""Webhook endpoints by API: ``/api/v1/webhooks/``.

An organisation's systems list, add, change and delete its endpoints with its API key, read
an endpoint's recent deliveries and ask for one to be sent again. Another organisation's
endpoint or delivery is a 404. The rules are the services' (``declarations.webhooks``): a
refused address is a 422 naming ``url`` with the rule as its code (``https_required``,
``address_not_public``, ``unresolvable``), an unknown or missing type names ``event_types``.

The secret is in the answer that made it (the create, or ``rotate-secret``) and never again.
A create sent with an ``Idempotency-Key`` replays that first answer, secret included, to the
same key and body, as every idempotent write does.
"""

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from clearance.access import found_or_404
from clearance.api import ApiView, Flag, Text, idempotent
from clearance.errors import ServiceError
from declarations import webhook_delivery, webhooks
from declarations.api import ERROR, IDEMPOTENCY
from declarations.events import EVENT_TYPES
from declarations.models import WebhookDelivery, WebhookEndpoint

DELIVERIES_SHOWN = 100


class EndpointInputSerializer(serializers.Serializer[dict[str, Any]]):
    url = Text(
        max_length=webhooks.URL_MAX,
        help_text="An https:// address whose host resolves only to public addresses "
        "(checked by the server: 422 otherwise).",
    )
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=list(EVENT_TYPES)),
        allow_empty=False,
        min_length=1,
        help_text="The event types to send, at least one.",
    )
    description = Text(
        max_length=webhooks.DESCRIPTION_MAX, required=False, allow_blank=True, default=""
    )


class EndpointChangeSerializer(EndpointInputSerializer):
    active = Flag(required=False, help_text="false disables the endpoint; true enables it again.")


class EndpointSerializer(serializers.Serializer[dict[str, Any]]):
    id = serializers.IntegerField()
    url = serializers.CharField()
    description = serializers.CharField()
    event_types = serializers.ListField(child=serializers.CharField())
    active = serializers.BooleanField()
    disabled_at = serializers.DateTimeField(allow_null=True)
    disabled_reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class NewEndpointSerializer(EndpointSerializer):
    secret = serializers.CharField(
        help_text="The signing secret (whsec_...), shown only in this answer."
    )


class AttemptSerializer(serializers.Serializer[dict[str, Any]]):
    at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    duration_ms = serializers.IntegerField()
    manual = serializers.BooleanField(help_text="A redelivery someone asked for.")


class DeliverySerializer(serializers.Serializer[dict[str, Any]]):
    id = serializers.IntegerField(help_text="The webhook-id header is msg_<id>.")
    event = serializers.IntegerField()
    type = serializers.CharField()
    state = serializers.ChoiceField(choices=WebhookDelivery.State.choices)
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    attempt_log = AttemptSerializer(many=True)


def endpoint_out(endpoint: WebhookEndpoint, secret: str = "") -> dict[str, Any]:
    out = {
        "id": endpoint.pk,
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types),
        "active": endpoint.active,
        "disabled_at": endpoint.disabled_at,
        "disabled_reason": endpoint.disabled_reason,
        "created_at": endpoint.created_at,
    }
    if secret:
        return dict(NewEndpointSerializer({**out, "secret": secret}).data)
    return dict(EndpointSerializer(out).data)


def delivery_out(delivery: WebhookDelivery) -> dict[str, Any]:
    return dict(
        DeliverySerializer(
            {
                "id": delivery.pk,
                "event": delivery.event_id,
                "type": delivery.event.type,
                "state": delivery.state,
                "attempts": delivery.attempts,
                "next_attempt_at": (
                    delivery.next_attempt_at if delivery.state == delivery.State.PENDING else None
                ),
                "delivered_at": delivery.delivered_at,
                "attempt_log": [
                    {
                        "at": a.at,
                        "status_code": a.status_code,
                        "error": a.error,
                        "duration_ms": a.duration_ms,
                        "manual": a.manual,
                    }
                    for a in delivery.attempt_log.all()
                ],
            }
        ).data
    )


def _valid(serializer: serializers.Serializer[dict[str, Any]]) -> dict[str, Any]:
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class EndpointView(ApiView):
    def _endpoint_for(self, pk: int) -> WebhookEndpoint:
        return found_or_404(WebhookEndpoint.objects.filter(organisation=self.organisation()), pk=pk)


class WebhookListView(ApiView):
    @extend_schema(
        responses={
            200: inline_serializer("EndpointList", {"results": EndpointSerializer(many=True)})
        },
        summary="List your webhook endpoints",
        operation_id="webhooks_list",
    )
    def get(self, request: Request) -> Response:
        found = WebhookEndpoint.objects.filter(organisation=self.organisation())
        return Response({"results": [endpoint_out(e) for e in found]})

    @extend_schema(
        request=EndpointInputSerializer,
        parameters=[IDEMPOTENCY],
        responses={201: NewEndpointSerializer, 400: ERROR, 422: ERROR},
        summary="Add a webhook endpoint; its secret is in this answer only",
    )
    def post(self, request: Request) -> Response:
        organisation = self.organisation()
        body = request.data

        def produce() -> Response:
            data = _valid(EndpointInputSerializer(data=body))
            endpoint, secret = webhooks.endpoint_create(
                organisation=organisation, actor=self.actor(), **data
            )
            return Response(endpoint_out(endpoint, secret), status=status.HTTP_201_CREATED)

        return idempotent(request, organisation, body, produce)


class WebhookDetailView(EndpointView):
    @extend_schema(responses={200: EndpointSerializer, 404: ERROR}, summary="One webhook endpoint")
    def get(self, request: Request, pk: int) -> Response:
        return Response(endpoint_out(self._endpoint_for(pk)))

    @extend_schema(
        request=EndpointChangeSerializer(partial=True),
        responses={200: EndpointSerializer, 400: ERROR, 404: ERROR, 422: ERROR},
        summary="Change a webhook endpoint, or disable or enable it",
        description="Fields not sent keep their values. Enabling an endpoint sends the "
        "deliveries that waited while it was disabled.",
    )
    def patch(self, request: Request, pk: int) -> Response:
        endpoint = self._endpoint_for(pk)
        changes = _valid(EndpointChangeSerializer(data=request.data, partial=True))
        endpoint = webhooks.endpoint_update(endpoint=endpoint, changes=changes, actor=self.actor())
        return Response(endpoint_out(endpoint))

    @extend_schema(
        request=None,
        responses={204: OpenApiResponse(description="Deleted."), 404: ERROR},
        summary="Delete a webhook endpoint and its delivery log",
    )
    def delete(self, request: Request, pk: int) -> Response:
        webhooks.endpoint_delete(endpoint=self._endpoint_for(pk), actor=self.actor())
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookSecretView(EndpointView):
    @extend_schema(
        request=None,
        responses={200: NewEndpointSerializer, 404: ERROR},
        summary="Give a webhook endpoint a new secret, in this answer only",
        description="The old secret stops signing at once.",
    )
    def post(self, request: Request, pk: int) -> Response:
        endpoint = self._endpoint_for(pk)
        secret = webhooks.endpoint_rotate_secret(endpoint=endpoint, actor=self.actor())
        return Response(endpoint_out(endpoint, secret))


class WebhookDeliveriesView(EndpointView):
    @extend_schema(
        responses={
            200: inline_serializer("DeliveryList", {"results": DeliverySerializer(many=True)}),
            404: ERROR,
        },
        summary="An endpoint's latest deliveries, with their attempts",
        operation_id="webhook_deliveries_list",
    )
    def get(self, request: Request, pk: int) -> Response:
        endpoint = self._endpoint_for(pk)
        found = (
            endpoint.deliveries.select_related("event")
            .prefetch_related("attempt_log")
            .order_by("-id")[:DELIVERIES_SHOWN]
        )
        return Response({"results": [delivery_out(d) for d in found]})


class WebhookRedeliverView(EndpointView):
    @extend_schema(
        request=None,
        responses={
            202: OpenApiResponse(description="Queued to be sent again."),
            404: ERROR,
            422: ERROR,
        },
        summary="Send a delivery again",
    )
    def post(self, request: Request, pk: int, delivery_id: int) -> Response:
        endpoint = self._endpoint_for(pk)
        delivery = found_or_404(endpoint.deliveries.all(), pk=delivery_id)
        if not endpoint.active:
            raise ServiceError(
                _("Enable the endpoint before sending to it again."),
                field="active",
                code="endpoint_disabled",
            )
        webhook_delivery.redeliver(delivery=delivery, by=None)
        return Response(status=status.HTTP_202_ACCEPTED)
