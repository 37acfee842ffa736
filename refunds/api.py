"""The payments API, version 1: a platform's statements, payments and refunds.

Same keys, error envelope and ``Idempotency-Key`` handling as the filing API; every record is
scoped to the key's organisation (another organisation's record is a 404). Lists are pages
(``?page=N``, ``{"count", "next", "previous", "results"}``).

A refund request is multipart, the one encoding that carries its evidence files: a generated
client takes one content type per operation. Its shape is checked first (400, by field); the
refund rules (a declaration paid and released, at most what was paid less earlier refunds,
evidence and tracking for returned goods) are the service's (422).
"""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from clearance.api import PAGE_PARAMETER, ApiView, Pages, Text, Whole, idempotent, page_of
from clearance.uploads import file_fingerprint
from declarations.access import declaration_for_organisation
from declarations.api import ERROR, IDEMPOTENCY
from declarations.document_api import BinaryField
from refunds import access, payments, services
from refunds.models import Payment, Refund, Statement


class PaymentSerializer(serializers.ModelSerializer[Payment]):
    class Meta:
        model = Payment
        fields = [
            "id",
            "reference",
            "declaration",
            "statement",
            "amount",
            "currency",
            "status",
            "created_at",
            "settled_at",
        ]


class StatementSerializer(serializers.ModelSerializer[Statement]):
    class Meta:
        model = Statement
        fields = ["id", "period", "currency", "total", "status", "issued_at", "due_on", "paid_at"]


class RefundSerializer(serializers.ModelSerializer[Refund]):
    class Meta:
        model = Refund
        fields = [
            "id",
            "declaration",
            "reason",
            "amount",
            "currency",
            "status",
            "return_tracking_number",
            "requested_at",
            "decided_at",
            "paid_at",
            "decision_note",
        ]


class RefundRequestSerializer(serializers.Serializer[Any]):
    declaration = Whole(min_value=1, max_value=2**63 - 1, help_text="The declaration's id.")
    reason = serializers.ChoiceField(choices=Refund.Reason.choices)
    amount = Text(
        pattern="^[0-9]{1,14}(\\.[0-9]{1,4})?$",
        help_text="In the currency paid, as a string; at most what was paid less earlier refunds.",
    )
    return_tracking_number = Text(
        max_length=50, required=False, allow_blank=True, help_text="For returned goods."
    )
    explanation = Text(max_length=2000, required=False, allow_blank=True)
    evidence = serializers.ListField(
        child=BinaryField(), required=False, help_text="Files; returned goods need one."
    )


REFUND_FIELDS = ("declaration", "reason", "amount", "return_tracking_number", "explanation")


def _page(view: ApiView, queryset: QuerySet[Any], serializer: type[Any]) -> Response:
    paginator = Pages()
    page = paginator.paginate_queryset(queryset, view.request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


class PaymentListView(ApiView):
    @extend_schema(
        parameters=[PAGE_PARAMETER],
        responses={200: page_of("PaymentPage", PaymentSerializer)},
        summary="Your payments",
        operation_id="payments_list",
    )
    def get(self, request: Request) -> Response:
        return _page(
            self, Payment.objects.filter(organisation=self.organisation()), PaymentSerializer
        )


class PaymentDetailView(ApiView):
    @extend_schema(responses={200: PaymentSerializer}, summary="One payment and its status")
    def get(self, request: Request, pk: int) -> Response:
        payment = access.payment_for_organisation(self.organisation(), pk)
        return Response(PaymentSerializer(payment).data)


class StatementListView(ApiView):
    @extend_schema(
        parameters=[PAGE_PARAMETER],
        responses={200: page_of("StatementPage", StatementSerializer)},
        summary="Your statements",
        operation_id="statements_list",
    )
    def get(self, request: Request) -> Response:
        return _page(
            self, Statement.objects.filter(organisation=self.organisation()), StatementSerializer
        )


class StatementDetailView(ApiView):
    @extend_schema(responses={200: StatementSerializer}, summary="One monthly statement")
    def get(self, request: Request, pk: int) -> Response:
        statement = access.statement_for_organisation(self.organisation(), pk)
        return Response(StatementSerializer(statement).data)


class StatementPayView(ApiView):
    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY],
        responses={
            201: PaymentSerializer,
            422: OpenApiResponse(ERROR, description="The statement is paid already."),
        },
        summary="Pay a statement",
        description="Opens the payment (or returns the open one) and gives `redirect_url`, the "
        "provider's payment page. The statement is paid when the provider confirms.",
    )
    def post(self, request: Request, pk: int) -> Response:
        organisation = self.organisation()
        statement = access.statement_for_organisation(organisation, pk)

        def produce() -> Response:
            payment, url = payments.payment_start(statement=statement, actor=self.actor())
            body = dict(PaymentSerializer(payment).data)
            body["redirect_url"] = url if "://" in url else settings.SITE_URL + url
            return Response(body, status=status.HTTP_201_CREATED)

        return idempotent(request, organisation, {"statement": pk}, produce)


class RefundListView(ApiView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        parameters=[PAGE_PARAMETER],
        responses={200: page_of("RefundPage", RefundSerializer)},
        summary="Your refunds",
        operation_id="refunds_list",
    )
    def get(self, request: Request) -> Response:
        return _page(
            self, Refund.objects.filter(organisation=self.organisation()), RefundSerializer
        )

    @extend_schema(
        request={"multipart/form-data": RefundRequestSerializer},
        parameters=[IDEMPOTENCY],
        responses={
            201: RefundSerializer,
            404: OpenApiResponse(ERROR, description="Not a declaration of your organisation."),
            422: OpenApiResponse(ERROR, description="A refund rule refused it."),
        },
        summary="Ask for a refund",
        description="Returned goods need `return_tracking_number` and at least one `evidence` "
        "file (multipart). The amount may not exceed what was paid less earlier refunds.",
    )
    def post(self, request: Request) -> Response:
        organisation = self.organisation()
        sent: Any = request.data
        data: dict[str, Any] = {
            key: sent.get(key) for key in REFUND_FIELDS if sent.get(key) is not None
        }
        data["evidence"] = request.FILES.getlist("evidence")
        given = RefundRequestSerializer(data=data)
        given.is_valid(raise_exception=True)
        values = {"return_tracking_number": "", "explanation": "", **given.validated_data}
        values["amount"] = Decimal(values["amount"])
        declaration = declaration_for_organisation(organisation, values["declaration"])
        fingerprint = {
            key: (str(value) if key != "evidence" else [file_fingerprint(f) for f in value])
            for key, value in values.items()
        }

        def produce() -> Response:
            refund = services.refund_request(
                declaration=declaration,
                reason=values["reason"],
                amount=values["amount"],
                return_tracking_number=values["return_tracking_number"],
                explanation=values["explanation"],
                evidence=values["evidence"],
                actor=self.actor(),
            )
            return Response(RefundSerializer(refund).data, status=status.HTTP_201_CREATED)

        return idempotent(request, organisation, fingerprint, produce)


class RefundDetailView(ApiView):
    @extend_schema(responses={200: RefundSerializer}, summary="One refund and its status")
    def get(self, request: Request, pk: int) -> Response:
        refund = access.refund_for_organisation(self.organisation(), pk)
        return Response(RefundSerializer(refund).data)
