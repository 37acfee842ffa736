"""The filing API, version 1: for platforms and carriers that file by machine.

Clients authenticate with an organisation's API key (``Authorization: Bearer KEY``) and see
only that organisation's declarations (anything else is a 404). Every write honours an
``Idempotency-Key`` header: the same key with the same body returns the first answer and
creates nothing; with another body it is refused (422). A unique constraint makes concurrent
duplicates safe (see ``IdempotencyRecord``).
"""

import hashlib
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clearance import reference
from clearance.api import ApiView, idempotent
from declarations import access, csvfiles, selectors, services
from declarations.models import CsvUpload, Declaration, Status
from declarations.validation import PARTIES

BATCH_LIMIT = 1000


# --- Serializers (explicit fields; they describe the schema and shape the answers) ---------


class SellerSerializer(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField(max_length=200)
    address = serializers.CharField(max_length=300)
    country = serializers.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 code.")


class ConsigneeSerializer(SellerSerializer):
    id_number = serializers.CharField(
        max_length=50, required=False, allow_blank=True, help_text="Where the regime asks for one."
    )


class LineSerializer(serializers.Serializer[dict[str, Any]]):
    description = serializers.CharField(
        max_length=300, help_text='What the goods are; "gift" or "goods" alone is refused.'
    )
    hs_code = serializers.CharField(max_length=6, help_text="HS 2022 subheading, 6 digits.")
    quantity = serializers.CharField(help_text="A positive number, as a string.")
    unit = serializers.CharField(max_length=10, required=False, default="pcs")
    value = serializers.CharField(help_text="Money as a string with the currency's decimals.")
    origin_country = serializers.CharField(max_length=2)
    gross_mass_kg = serializers.CharField(help_text="Kilograms, up to 3 decimals.")
    product_url = serializers.URLField(required=False, allow_blank=True)


class DeclarationInputSerializer(serializers.Serializer[dict[str, Any]]):
    reference = serializers.CharField(
        max_length=35, help_text="Your own reference, unique in your organisation."
    )
    transport_mode = serializers.ChoiceField(choices=["postal", "express", "cargo"])
    transport_document = serializers.CharField(
        max_length=50, help_text="Tracking number or house air waybill."
    )
    carrier = serializers.CharField(max_length=100, required=False, allow_blank=True)
    marketplace = serializers.CharField(max_length=100, required=False, allow_blank=True)
    order_reference = serializers.CharField(max_length=50, required=False, allow_blank=True)
    purpose = serializers.ChoiceField(choices=["personal", "commercial", "gift"])
    seller = SellerSerializer()
    consignee = ConsigneeSerializer()
    arrival_office = serializers.CharField(max_length=50, required=False, allow_blank=True)
    currency = serializers.CharField(max_length=3, help_text="ISO 4217 code.")
    shipping_cost = serializers.CharField(required=False)
    insurance_cost = serializers.CharField(required=False)
    tax_collected_at_sale = serializers.BooleanField(required=False, default=False)
    vendor_tax_id = serializers.CharField(max_length=50, required=False, allow_blank=True)
    lines = LineSerializer(many=True, help_text="1 to 999 item lines.")


class CreateSerializer(DeclarationInputSerializer):
    submit = serializers.BooleanField(
        required=False, default=False, help_text="Submit at once instead of saving a draft."
    )


class StatusChangeSerializer(serializers.Serializer[dict[str, Any]]):
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    at = serializers.DateTimeField()
    version = serializers.IntegerField(allow_null=True)
    note = serializers.CharField()


class DeclarationSerializer(DeclarationInputSerializer):
    id = serializers.IntegerField(read_only=True)
    system_reference = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=Status.choices, read_only=True)
    lane = serializers.CharField(read_only=True)
    version = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    submitted_at = serializers.DateTimeField(read_only=True, allow_null=True)
    released_at = serializers.DateTimeField(read_only=True, allow_null=True)
    assessment = serializers.JSONField(
        read_only=True, allow_null=True, help_text="The latest version's assessment."
    )
    status_history = StatusChangeSerializer(many=True, read_only=True)


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
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Replays the first answer for the same body; another body gets 422.",
)


# --- Endpoints ------------------------------------------------------------------------------


class Cursor(CursorPagination):
    ordering = "-id"
    page_size = 50


class DeclarationListView(ApiView):
    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, description="One status, such as submitted."),
            OpenApiParameter("reference", str, description="Your reference, exactly."),
            OpenApiParameter("created_after", str, description="ISO 8601 date-time."),
            OpenApiParameter("created_before", str, description="ISO 8601 date-time."),
            OpenApiParameter("cursor", str, description="From the previous page's links."),
        ],
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
        queryset: QuerySet[Declaration] = Declaration.objects.filter(
            organisation=self.organisation()
        )
        params = request.query_params
        if params.get("status"):
            if params["status"] not in Status.values:
                raise ValidationError({"status": [_("Not a status.")]})
            queryset = queryset.filter(status=params["status"])
        if params.get("reference"):
            queryset = queryset.filter(reference=params["reference"])
        for name, lookup in (("created_after", "gte"), ("created_before", "lt")):
            if params.get(name):
                moment = parse_datetime(params[name])
                if moment is None:
                    raise ValidationError({name: [_("Use an ISO 8601 date-time.")]})
                queryset = queryset.filter(**{f"created_at__{lookup}": moment})
        paginator = Cursor()
        page = paginator.paginate_queryset(queryset, request, view=self) or []
        return paginator.get_paginated_response([declaration_out(d, detail=False) for d in page])

    @extend_schema(
        request=CreateSerializer,
        parameters=[IDEMPOTENCY],
        responses={201: DeclarationSerializer, 422: ERROR},
        summary="Create a declaration, as a draft or submitted at once",
    )
    def post(self, request: Request) -> Response:
        organisation = self.organisation()
        body = request.data

        def produce() -> Response:
            submit = bool(body.get("submit", False)) if isinstance(body, dict) else False
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
        "Amending a submitted declaration makes its next version.",
    )
    def patch(self, request: Request, pk: int) -> Response:
        organisation = self.organisation()
        declaration = access.declaration_for_organisation(organisation, pk)
        body = request.data
        if not isinstance(body, dict):
            raise ValidationError({"": [_("Send an object.")]})

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
                "status": serializers.CharField(required=False),
                "errors": serializers.ListField(child=serializers.DictField(), required=False),
            },
            many=True,
        ),
    },
)


class DeclarationBatchView(ApiView):
    @extend_schema(
        request=inline_serializer(
            "Batch",
            {
                "declarations": DeclarationInputSerializer(many=True),
                "submit": serializers.BooleanField(default=False),
            },
        ),
        parameters=[IDEMPOTENCY],
        responses={200: BATCH_RESULT, 422: ERROR},
        summary="Create up to 1,000 declarations at once",
        description="Valid declarations are saved and invalid ones reported, each by its "
        "index in the request.",
    )
    def post(self, request: Request) -> Response:
        organisation = self.organisation()
        body = request.data
        if not isinstance(body, dict):
            raise ValidationError({"declarations": [_("Send a list of declarations.")]})
        items = body.get("declarations")
        if not isinstance(items, list) or not items:
            raise ValidationError({"declarations": [_("Send a list of declarations.")]})
        if len(items) > BATCH_LIMIT:
            raise ValidationError(
                {
                    "declarations": [
                        _("Send at most %(max)d declarations in one batch.") % {"max": BATCH_LIMIT}
                    ]
                }
            )
        submit = bool(body.get("submit", False))

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


class HsCodeView(ApiView):
    @extend_schema(
        parameters=[OpenApiParameter("q", str, required=True, description="Words or a code.")],
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
        words = request.query_params.get("q", "")
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
                body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
                operations.append(
                    {
                        "method": method.upper(),
                        "path": path,
                        "summary": op.get("summary", ""),
                        "description": op.get("description", ""),
                        "parameters": op.get("parameters", []),
                        "request": _schema_name(body.get("schema", {})),
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


# --- CSV files ------------------------------------------------------------------------------

UPLOAD = inline_serializer(
    "CsvUpload",
    {
        "id": serializers.IntegerField(),
        "state": serializers.ChoiceField(choices=CsvUpload.State.choices),
        "total_rows": serializers.IntegerField(),
        "processed_rows": serializers.IntegerField(),
        "valid_declarations": serializers.IntegerField(),
        "invalid_declarations": serializers.IntegerField(),
        "imported_declarations": serializers.IntegerField(),
        "failure": serializers.CharField(),
        "errors": inline_serializer(
            "CsvError",
            {
                "row": serializers.IntegerField(),
                "reference": serializers.CharField(),
                "column": serializers.CharField(),
                "code": serializers.CharField(),
                "message": serializers.CharField(),
            },
            many=True,
        ),
    },
)


def upload_out(upload: CsvUpload) -> dict[str, Any]:
    return {
        "id": upload.pk,
        "state": upload.state,
        "total_rows": upload.total_rows,
        "processed_rows": csvfiles.progress_rows(upload),
        "valid_declarations": upload.valid_declarations,
        "invalid_declarations": upload.invalid_declarations,
        "imported_declarations": upload.imported_declarations,
        "failure": upload.failure,
        "errors": upload.errors,
    }


class UploadView(ApiView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "CsvFile", {"file": serializers.FileField(help_text="The CSV file.")}
            )
        },
        parameters=[IDEMPOTENCY],
        responses={201: UPLOAD, 422: ERROR},
        summary="Upload a CSV file of declarations to check",
        description="Small files are checked at once; large ones by a worker (poll the "
        "upload until its state is `checked`). Nothing is saved until you confirm.",
    )
    def post(self, request: Request) -> Response:
        organisation = self.organisation()
        file = request.FILES.get("file")
        if file is None:
            raise ValidationError({"file": [_("Send the CSV file in the field “file”.")]})
        digest = hashlib.sha256()
        for chunk in file.chunks():
            digest.update(chunk)
        file.seek(0)

        def produce() -> Response:
            assert file is not None
            upload = csvfiles.upload_create(
                organisation=organisation, file=file, by=None, api_key=self.actor().api_key
            )
            upload = csvfiles.upload_start(upload)
            return Response(upload_out(upload), status=status.HTTP_201_CREATED)

        return idempotent(request, organisation, {"file": digest.hexdigest()}, produce)


class UploadDetailView(ApiView):
    @extend_schema(responses={200: UPLOAD}, summary="An uploaded file's state and errors")
    def get(self, request: Request, pk: int) -> Response:
        return Response(upload_out(access.upload_for_organisation(self.organisation(), pk)))


class UploadConfirmView(ApiView):
    @extend_schema(
        request=inline_serializer(
            "CsvConfirm",
            {
                "only_valid": serializers.BooleanField(
                    default=False, help_text="Submit only the valid declarations."
                )
            },
        ),
        parameters=[IDEMPOTENCY],
        responses={200: UPLOAD, 422: ERROR},
        summary="Submit a checked file's declarations",
    )
    def post(self, request: Request, pk: int) -> Response:
        organisation = self.organisation()
        upload = access.upload_for_organisation(organisation, pk)
        body = request.data if isinstance(request.data, dict) else {}
        only_valid = bool(body.get("only_valid", False))

        def produce() -> Response:
            confirmed = csvfiles.upload_confirm(
                upload=upload, only_valid=only_valid, actor=self.actor()
            )
            return Response(upload_out(csvfiles.upload_import_start(confirmed)))

        return idempotent(request, organisation, {"confirm": pk, "only_valid": only_valid}, produce)
