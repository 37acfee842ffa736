"""The payments API, version 1: a platform's statements, payments and refunds.

Same keys, error envelope and ``Idempotency-Key`` handling as the filing API; every record is
scoped to the key's organisation (another organisation's record is a 404).
"""

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from clearance.api import ApiView, idempotent
from declarations.access import declaration_for_organisation
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
    declaration = serializers.IntegerField()
    reason = serializers.ChoiceField(choices=Refund.Reason.choices)
    amount = serializers.DecimalField(max_digits=18, decimal_places=4, min_value=0)
    return_tracking_number = serializers.CharField(max_length=50, required=False, default="")
    explanation = serializers.CharField(
        max_length=2000, required=False, default="", allow_blank=True
    )
    evidence = serializers.ListField(child=serializers.FileField(), required=False, default=list)


REFUND_FIELDS = ("declaration", "reason", "amount", "return_tracking_number", "explanation")


def _page(view: ApiView, queryset: QuerySet[Any], serializer: type[Any]) -> Response:
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(queryset, view.request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


class PaymentListView(ApiView):
    @extend_schema(responses={200: PaymentSerializer(many=True)}, summary="Your payments")
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
    @extend_schema(responses={200: StatementSerializer(many=True)}, summary="Your statements")
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
        responses={201: PaymentSerializer},
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
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(responses={200: RefundSerializer(many=True)}, summary="Your refunds")
    def get(self, request: Request) -> Response:
        return _page(
            self, Refund.objects.filter(organisation=self.organisation()), RefundSerializer
        )

    @extend_schema(
        request={
            "multipart/form-data": RefundRequestSerializer,
            "application/json": RefundRequestSerializer,
        },
        responses={201: RefundSerializer},
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
        values = given.validated_data
        declaration = declaration_for_organisation(organisation, values["declaration"])
        fingerprint = {
            key: (str(value) if key != "evidence" else [f.name for f in value])
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
