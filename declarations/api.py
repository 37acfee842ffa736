"""The filing API, version 1: for platforms and carriers that file by machine.

Clients authenticate with an organisation's API key (``Authorization: Bearer KEY``) and see
only that organisation's declarations (anything else is a 404). Every write honours an
``Idempotency-Key`` header: the same key with the same body returns the first answer and
creates nothing; with another body it is refused (422). A unique constraint makes concurrent
duplicates safe (see ``IdempotencyRecord``).

A request whose shape is not the schema's is refused before anything runs (400, each field
named); one the filing rules refuse is a 422 (see ``clearance.api``).
"""

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import render
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clearance import reference
from clearance.api import (
    COUNTRIES,
    CURRENCIES,
    HS_CODE,
    ApiView,
    DecimalText,
    Flag,
    IdCursor,
    Text,
    idempotent,
)
from clearance.models import Purpose, TransportMode
from declarations import access, selectors, services
from declarations.models import Declaration, Status
from declarations.validation import MAX_LINES, PARTIES

BATCH_LIMIT = 1000


# --- Serializers (explicit fields; they describe the schema and shape the answers) ---------
#
# The request serializers state the shape (400 when it is wrong): JSON strings exactly as sent,
# enums, patterns and lengths. A draft may be incomplete, so only ``reference`` is required;
# what a submission needs, and the rules of the nomenclature, the currency's decimals and the
# organisation's references, are the service's (``declarations.validation``: 422).

# A web address: an ASCII host, then anything but spaces and control characters (an explicit
# range, the same in Python and in the schema's ECMAScript, unlike ``\s``).
URL = "^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?([/?#][^\\x00-\\x20]*)?$"


class SellerSerializer(serializers.Serializer[dict[str, Any]]):
    name = Text(max_length=200, required=False)
    address = Text(max_length=300, required=False)
    country = serializers.ChoiceField(
        choices=COUNTRIES, required=False, help_text="ISO 3166-1 alpha-2 code."
    )


class ConsigneeSerializer(SellerSerializer):
    id_number = Text(
        max_length=50, required=False, allow_blank=True, help_text="Where the regime asks for one."
    )


class LineSerializer(serializers.Serializer[dict[str, Any]]):
    description = Text(
        max_length=300,
        required=False,
        help_text='What the goods are; "gift" or "goods" alone is refused.',
    )
    hs_code = Text(
        pattern=HS_CODE, required=False, help_text="HS 2022 subheading, 6 digits; it must exist."
    )
    quantity = DecimalText(required=False, help_text="A positive number, as a string.")
    unit = Text(max_length=10, required=False, help_text="pcs when not given.")
    value = DecimalText(
        required=False, help_text="Money as a string, at most the currency's decimals."
    )
    origin_country = serializers.ChoiceField(choices=COUNTRIES, required=False)
    gross_mass_kg = DecimalText(required=False, help_text="Kilograms, up to 3 decimals.")
    product_url = Text(
        pattern=URL, max_length=500, required=False, allow_blank=True, help_text="http or https."
    )


class DeclarationInputSerializer(serializers.Serializer[dict[str, Any]]):
    reference = Text(max_length=35, help_text="Your own reference, unique in your organisation.")
    transport_mode = serializers.ChoiceField(choices=TransportMode.values, required=False)
    transport_document = Text(
        max_length=50, required=False, help_text="Tracking number or house air waybill."
    )
    carrier = Text(max_length=100, required=False, allow_blank=True)
    marketplace = Text(max_length=100, required=False, allow_blank=True)
    order_reference = Text(max_length=50, required=False, allow_blank=True)
    purpose = serializers.ChoiceField(choices=Purpose.values, required=False)
    seller = SellerSerializer(required=False)
    consignee = ConsigneeSerializer(required=False)
    arrival_office = Text(max_length=50, required=False, allow_blank=True)
    currency = serializers.ChoiceField(
        choices=CURRENCIES, required=False, help_text="ISO 4217 code."
    )
    shipping_cost = DecimalText(required=False)
    insurance_cost = DecimalText(required=False)
    tax_collected_at_sale = Flag(required=False)
    vendor_tax_id = Text(max_length=50, required=False, allow_blank=True)
    lines = serializers.ListField(
        child=LineSerializer(),
        required=False,
        max_length=MAX_LINES,
        help_text="Up to 999 item lines; at least one to submit.",
    )


class CreateSerializer(DeclarationInputSerializer):
    submit = Flag(required=False, help_text="Submit at once instead of saving a draft.")


class StatusChangeSerializer(serializers.Serializer[dict[str, Any]]):
    from_status = serializers.CharField(help_text="Empty for the first.")
    to_status = serializers.ChoiceField(choices=Status.choices)
    at = serializers.DateTimeField()
    version = serializers.IntegerField(allow_null=True)
    note = serializers.CharField()


class SellerOut(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField()
    address = serializers.CharField()
    country = serializers.CharField()


class ConsigneeOut(SellerOut):
    id_number = serializers.CharField()


class LineOut(serializers.Serializer[dict[str, Any]]):
    description = serializers.CharField()
    hs_code = serializers.CharField()
    quantity = serializers.CharField(allow_null=True)
    unit = serializers.CharField()
    value = serializers.CharField(allow_null=True)
    origin_country = serializers.CharField()
    gross_mass_kg = serializers.CharField(allow_null=True)
    product_url = serializers.CharField()


class DeclarationSerializer(serializers.Serializer[dict[str, Any]]):
    """A declaration as the API answers it (a draft's missing values are empty strings)."""

    id = serializers.IntegerField()
    system_reference = serializers.CharField()
    reference = serializers.CharField()
    status = serializers.ChoiceField(choices=Status.choices)
    lane = serializers.CharField()
    version = serializers.IntegerField()
    transport_mode = serializers.CharField()
    transport_document = serializers.CharField()
    carrier = serializers.CharField()
    marketplace = serializers.CharField()
    order_reference = serializers.CharField()
    purpose = serializers.CharField()
    seller = SellerOut()
    consignee = ConsigneeOut()
    arrival_office = serializers.CharField()
    currency = serializers.CharField()
    shipping_cost = serializers.CharField(allow_null=True)
    insurance_cost = serializers.CharField(allow_null=True)
    tax_collected_at_sale = serializers.BooleanField()
    vendor_tax_id = serializers.CharField()
    lines = LineOut(many=True)
    created_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    released_at = serializers.DateTimeField(allow_null=True)
    assessment = serializers.JSONField(
        allow_null=True, help_text="The latest version's assessment."
    )
    status_history = StatusChangeSerializer(many=True)


def checked(serializer: serializers.Serializer[Any]) -> dict[str, Any]:
    """The request's values, once their shape is right (400 naming each field otherwise)."""
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def declaration_out(declaration: Declaration, *, detail: bool = True) -> dict[str, Any]:
    lines = list(declaration.lines.order_by("number"))
    data = selectors.declaration_data(declaration, lines)
    version = declaration.latest_version if detail and declaration.version else None
    changes = declaration.status_changes.all() if detail else []
    data.update(
        id=declaration.pk,
        system_reference=declaration.system_reference,
        status=declaration.status,
        lane=declaration.lane,
        version=declaration.version,
        created_at=declaration.created_at,
        submitted_at=declaration.submitted_at,
        released_at=declaration.released_at,
        assessment=version.assessment if version else None,
        status_history=[
            {
                "from_status": c.from_status,
                "to_status": c.to_status,
                "at": c.at,
                "version": c.version,
                "note": c.note,
            }
            for c in changes
        ],
    )
    return dict(DeclarationSerializer(data).data)


ERROR = inline_serializer(
    "Error",
    {
        "code": serializers.CharField(),
        "message": serializers.CharField(),
        "errors": inline_serializer(
            "FieldError",
            {
                "field": serializers.CharField(),
                "code": serializers.CharField(),
                "message": serializers.CharField(),
            },
            many=True,
        ),
    },
)
IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "maxLength": 255},
    OpenApiParameter.HEADER,
    required=False,
    description="Replays the first answer for the same body; another body gets 422.",
)


# --- Endpoints ------------------------------------------------------------------------------


class Cursor(IdCursor):
    ordering = "-id"
    page_size = 50


class DeclarationFilterSerializer(serializers.Serializer[dict[str, Any]]):
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    reference = Text(max_length=35, required=False, help_text="Your reference, exactly.")
    created_after = serializers.DateTimeField(required=False, help_text="From this moment on.")
    created_before = serializers.DateTimeField(required=False, help_text="Before this moment.")
    cursor = Text(
        pattern=IdCursor.PATTERN, required=False, help_text="From a page's next or previous link."
    )


class DeclarationListView(ApiView):
    @extend_schema(
        parameters=[DeclarationFilterSerializer],
        responses={
            200: inline_serializer(
                "DeclarationPage",
                {
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "results": DeclarationSerializer(many=True),
                },
            )
        },
        summary="List your organisation's declarations",
        operation_id="declarations_list",
    )
    def get(self, request: Request) -> Response:
        filters = checked(DeclarationFilterSerializer(data=request.query_params.dict()))
        queryset: QuerySet[Declaration] = Declaration.objects.filter(
            organisation=self.organisation()
        )
        if "status" in filters:
            queryset = queryset.filter(status=filters["status"])
        if "reference" in filters:
            queryset = queryset.filter(reference=filters["reference"])
        if "created_after" in filters:
            queryset = queryset.filter(created_at__gte=filters["created_after"])
        if "created_before" in filters:
            queryset = queryset.filter(created_at__lt=filters["created_before"])
        paginator = Cursor()
        page = paginator.paginate_queryset(queryset, request, view=self) or []
        return paginator.get_paginated_response([declaration_out(d, detail=False) for d in page])

    @extend_schema(
        request=CreateSerializer,
        parameters=[IDEMPOTENCY],
        responses={201: DeclarationSerializer, 422: ERROR},
        summary="Create a declaration, as a draft or submitted at once",
        description="A draft may be incomplete; submitting checks that nothing is missing. "
        "Rules the shape cannot say (an HS code that does not exist, the currency's decimals, "
        "a reference used already) are answered 422.",
    )
    def post(self, request: Request) -> Response:
        organisation = self.organisation()
        body: Any = request.data
        checked(CreateSerializer(data=body))

        def produce() -> Response:
            submit = body.get("submit") is True
            declaration = services.declaration_create(
                organisation=organisation, data=body, submit=submit, actor=self.actor()
            )
            return Response(declaration_out(declaration), status=status.HTTP_201_CREATED)

        return idempotent(request, organisation, body, produce)


class DeclarationDetailView(ApiView):
    @extend_schema(responses={200: DeclarationSerializer}, summary="One declaration")
    def get(self, request: Request, pk: int) -> Response:
        declaration = access.declaration_for_organisation(self.organisation(), pk)
        return Response(declaration_out(declaration))

    @extend_schema(
        request=DeclarationInputSerializer(partial=True),
        parameters=[IDEMPOTENCY],
        responses={200: DeclarationSerializer, 422: ERROR},
        summary="Change a draft, or amend a submitted declaration before a decision",
        description="Fields not sent keep their values; `lines`, when sent, replaces all lines. "
        "Amending a submitted declaration makes its next version; a declaration decided on "
        "or cancelled can no longer change (422).",
    )
    def patch(self, request: Request, pk: int) -> Response:
        organisation = self.organisation()
        declaration = access.declaration_for_organisation(organisation, pk)
        body: Any = request.data
        checked(DeclarationInputSerializer(data=body, partial=True))

        def produce() -> Response:
            data = selectors.declaration_data(declaration, list(declaration.lines.all()))
            for party in PARTIES:
                if isinstance(body.get(party), dict):
                    data[party].update(body[party])
            data.update({k: v for k, v in body.items() if k not in PARTIES})
            if declaration.status == Status.DRAFT:
                changed = services.declaration_update(
                    declaration=declaration, data=data, actor=self.actor()
                )
            else:
                changed = services.declaration_amend(
                    declaration=declaration, data=data, actor=self.actor()
                )
            return Response(declaration_out(changed))

        return idempotent(request, organisation, {"id": pk, **body}, produce)


class DeclarationSubmitView(ApiView):
    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY],
        responses={200: DeclarationSerializer, 422: ERROR},
        summary="Submit a draft",
        description="Refused (422) when the draft is incomplete or breaks a rule, or when the "
        "declaration is no longer a draft.",
    )
    def post(self, request: Request, pk: int) -> Response:
        organisation = self.organisation()
        declaration = access.declaration_for_organisation(organisation, pk)

        def produce() -> Response:
            done = services.declaration_submit(declaration=declaration, actor=self.actor())
            return Response(declaration_out(done))

        return idempotent(request, organisation, {"submit": pk}, produce)


class DeclarationCancelView(ApiView):
    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY],
        responses={200: DeclarationSerializer, 422: ERROR},
        summary="Cancel a declaration before release",
        description="Refused (422) once the declaration is released, rejected, seized or "
        "cancelled.",
    )
    def post(self, request: Request, pk: int) -> Response:
        organisation = self.organisation()
        declaration = access.declaration_for_organisation(organisation, pk)

        def produce() -> Response:
            done = services.declaration_cancel(declaration=declaration, actor=self.actor())
            return Response(declaration_out(done))

        return idempotent(request, organisation, {"cancel": pk}, produce)


BATCH_RESULT = inline_serializer(
    "BatchResult",
    {
        "created": serializers.IntegerField(),
        "failed": serializers.IntegerField(),
        "results": inline_serializer(
            "BatchItem",
            {
                "index": serializers.IntegerField(),
                "id": serializers.IntegerField(required=False),
                "system_reference": serializers.CharField(required=False),
                "status": serializers.ChoiceField(choices=Status.choices, required=False),
                "errors": inline_serializer(
                    "BatchError",
                    {
                        "field": serializers.CharField(),
                        "code": serializers.CharField(),
                        "message": serializers.CharField(),
                    },
                    many=True,
                    required=False,
                ),
            },
            many=True,
        ),
    },
)


class BatchSerializer(serializers.Serializer[dict[str, Any]]):
    declarations = serializers.ListField(
        child=DeclarationInputSerializer(), min_length=1, max_length=BATCH_LIMIT
    )
    submit = Flag(required=False, help_text="Submit each valid declaration at once.")


class DeclarationBatchView(ApiView):
    @extend_schema(
        request=BatchSerializer,
        parameters=[IDEMPOTENCY],
        responses={200: BATCH_RESULT, 422: ERROR},
        summary="Create up to 1,000 declarations at once",
        description="A batch whose shape is wrong is refused whole (400). Otherwise valid "
        "declarations are saved and those a rule refuses reported, each by its index in the "
        "request.",
    )
    def post(self, request: Request) -> Response:
        organisation = self.organisation()
        body: Any = request.data
        checked(BatchSerializer(data=body))
        items = body["declarations"]
        submit = body.get("submit") is True

        def produce() -> Response:
            outcomes = services.declarations_create(
                organisation=organisation, items=items, submit=submit, actor=self.actor()
            )
            results: list[dict[str, Any]] = []
            for index, outcome in enumerate(outcomes):
                if outcome.declaration is not None:
                    d = outcome.declaration
                    results.append(
                        {
                            "index": index,
                            "id": d.pk,
                            "system_reference": d.system_reference,
                            "status": d.status,
                        }
                    )
                else:
                    results.append(
                        {"index": index, "errors": [e.as_dict() for e in outcome.errors or []]}
                    )
            created = sum(1 for o in outcomes if o.declaration is not None)
            return Response(
                {"created": created, "failed": len(outcomes) - created, "results": results}
            )

        return idempotent(request, organisation, body, produce)


class HsQuerySerializer(serializers.Serializer[dict[str, Any]]):
    q = Text(max_length=200, help_text="Words or a code.")


class HsCodeView(ApiView):
    @extend_schema(
        parameters=[HsQuerySerializer],
        responses={
            200: inline_serializer(
                "HsCodes",
                {
                    "results": inline_serializer(
                        "HsCode",
                        {"code": serializers.CharField(), "description": serializers.CharField()},
                        many=True,
                    )
                },
            )
        },
        summary="Find HS 2022 subheadings by words",
    )
    def get(self, request: Request) -> Response:
        words = checked(HsQuerySerializer(data=request.query_params.dict()))["q"]
        return Response(
            {
                "results": [
                    {"code": e.code, "description": e.description}
                    for e in reference.hs_search(words)
                ]
            }
        )


class ApiDocsView(APIView):
    """Readable docs built from the OpenAPI schema on the server: no scripts from elsewhere,
    so the page works under the portal's content security policy and without JavaScript."""

    authentication_classes: list[type[BaseAuthentication]] = []
    permission_classes: list[type[BasePermission]] = []
    schema = None

    def get(self, request: Request) -> HttpResponse:
        spec = SchemaGenerator().get_schema(request=None, public=True)  # type: ignore[no-untyped-call]
        components = spec.get("components", {}).get("schemas", {})
        operations = []
        for path, methods in spec["paths"].items():
            for method, op in methods.items():
                request_body: dict[str, Any] = op.get("requestBody") or {}
                content: dict[str, Any] = request_body.get("content") or {}
                first: tuple[str, dict[str, Any]] = next(iter(content.items()), ("", {}))
                request_type, body = first
                operations.append(
                    {
                        "method": method.upper(),
                        "path": path,
                        "summary": op.get("summary", ""),
                        "description": op.get("description", ""),
                        "parameters": op.get("parameters", []),
                        "request": _schema_name(body.get("schema", {})),
                        "request_type": request_type,
                        "responses": {
                            code: _schema_name(
                                r.get("content", {}).get("application/json", {}).get("schema", {})
                            )
                            for code, r in op.get("responses", {}).items()
                        },
                    }
                )
        return render(
            request._request,
            "declarations/api_docs.html",
            {"spec": spec, "operations": operations, "components": components},
        )


def _schema_name(schema: dict[str, Any]) -> str:
    ref = schema.get("$ref", "")
    if not ref and schema.get("type") == "array":
        ref = schema.get("items", {}).get("$ref", "")
    return str(ref.rsplit("/", 1)[-1]) if ref else ""
