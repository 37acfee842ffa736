"""The event feed of the filing API: ``GET /api/v1/events/?after=CURSOR``.

A platform polls it to learn what changed on its declarations (see ``declarations.events``):
events come oldest first, and ``next`` is the cursor to read from next time, also when the page
is empty. Any cursor the feed handed out may be read again and gives the same events in the
same order; without ``after`` the feed starts at the organisation's first event.
"""

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from clearance.api import ApiView
from declarations import events
from declarations.models import Event

PAGE = 100
PAGE_MAX = 500


class EventDeclarationSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    system_reference = serializers.CharField()
    reference = serializers.CharField(help_text="Your own reference.")
    transport_document = serializers.CharField()


class EventSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="Unique and never reused.")
    type = serializers.CharField(
        help_text="declaration.<status> (submitted, held, under_review, info_requested, "
        "awaiting_payment, released, rejected, seized, cancelled) or refund.<status>."
    )
    occurred_at = serializers.DateTimeField()
    declaration = EventDeclarationSerializer()
    state = serializers.CharField(help_text="The declaration's, or the refund's, new status.")
    reason = serializers.CharField(help_text="Why a declaration is held; empty otherwise.")
    refund = serializers.IntegerField(allow_null=True, help_text="The refund's id, if any.")


def event_out(event: Event) -> dict[str, Any]:
    declaration = event.declaration
    return {
        "id": event.pk,
        "type": event.type,
        "occurred_at": event.occurred_at,
        "declaration": {
            "id": declaration.pk,
            "system_reference": declaration.system_reference,
            "reference": declaration.reference,
            "transport_document": declaration.transport_document,
        },
        "state": event.state,
        "reason": event.reason,
        "refund": event.refund_id,
    }


class EventFeedView(ApiView):
    @extend_schema(
        parameters=[
            OpenApiParameter("after", str, description="The `next` of an earlier page."),
            OpenApiParameter("limit", int, description=f"At most {PAGE_MAX}; {PAGE} if unset."),
        ],
        responses={
            200: inline_serializer(
                "EventPage",
                {
                    "results": EventSerializer(many=True),
                    "next": serializers.CharField(help_text="Read from here next time."),
                },
            )
        },
        summary="Read the changes on your declarations, in order, from a cursor",
        operation_id="events_list",
    )
    def get(self, request: Request) -> Response:
        after = events.START
        if request.query_params.get("after"):
            found = events.Cursor.decode(request.query_params["after"])
            if found is None:
                raise ValidationError({"after": [_("Use the next cursor of an earlier page.")]})
            after = found
        limit = _limit(request.query_params.get("limit"))
        page = events.feed(self.organisation().pk, after, limit)
        return Response(
            {
                "results": [event_out(e) for e in page],
                "next": events.next_cursor(page, after).encode(),
            }
        )


def _limit(text: str | None) -> int:
    if not text:
        return PAGE
    if not text.isdigit() or not 1 <= int(text) <= PAGE_MAX:
        raise ValidationError(
            {"limit": [_("Use a whole number from 1 to %(max)d.") % {"max": PAGE_MAX}]}
        )
    return int(text)
