"""The event feed of the filing API: ``GET /api/v1/events/?after=CURSOR``.

A platform polls it to learn what changed on its declarations (see ``declarations.events``):
events come oldest first, and ``next`` is the cursor to read from next time, also when the page
is empty. Any cursor the feed handed out may be read again and gives the same events in the
same order; without ``after`` the feed starts at the organisation's first event.

A cursor is URL-safe base64 (the schema's pattern; anything else is a 400 naming ``after``).
One of that shape that this feed never handed out is refused by the feed's rule, 422 naming
``after``: its shape cannot be told from a real one's.
"""

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from clearance.api import ApiView, Text, Whole
from clearance.errors import ServiceError
from declarations import events
from declarations.api import ERROR
from declarations.models import Event

PAGE = 100
PAGE_MAX = 500
CURSOR = "^[A-Za-z0-9_-]{1,100}$"
BIGINT = 2**63 - 1


class FeedQuerySerializer(serializers.Serializer[Any]):
    after = Text(pattern=CURSOR, required=False, help_text="The `next` of an earlier page.")
    limit = Whole(min_value=1, max_value=PAGE_MAX, required=False, help_text=f"{PAGE} if unset.")


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
        parameters=[FeedQuerySerializer],
        responses={
            200: inline_serializer(
                "EventPage",
                {
                    "results": EventSerializer(many=True),
                    "next": serializers.CharField(help_text="Read from here next time."),
                },
            ),
            422: OpenApiResponse(ERROR, description="A cursor this feed never handed out."),
        },
        summary="Read the changes on your declarations, in order, from a cursor",
        operation_id="events_list",
    )
    def get(self, request: Request) -> Response:
        query = FeedQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        after = events.START
        if "after" in query.validated_data:
            after = _cursor(query.validated_data["after"])
        limit = query.validated_data.get("limit", PAGE)
        page = events.feed(self.organisation().pk, after, limit)
        return Response(
            {
                "results": [event_out(e) for e in page],
                "next": events.next_cursor(page, after).encode(),
            }
        )


def _cursor(text: str) -> events.Cursor:
    """The cursor ``text`` stands for, if this feed could have handed it out (422 if not)."""
    found = events.Cursor.decode(text)
    if found is None or not (0 <= found.tx <= BIGINT and 0 <= found.id <= BIGINT):
        raise ServiceError(
            _("Use the next cursor of an earlier page."), field="after", code="unknown_cursor"
        )
    return found
