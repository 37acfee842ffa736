"""URLs of the payments API, version 1 (mounted at /api/v1/, before the filing API)."""

from django.urls import path

from refunds import api

urlpatterns = [
    path("payments/", api.PaymentListView.as_view(), name="api-payments"),
    path("payments/<int:pk>/", api.PaymentDetailView.as_view(), name="api-payment"),
    path("statements/", api.StatementListView.as_view(), name="api-statements"),
    path("statements/<int:pk>/", api.StatementDetailView.as_view(), name="api-statement"),
    path("statements/<int:pk>/pay/", api.StatementPayView.as_view(), name="api-statement-pay"),
    path("refunds/", api.RefundListView.as_view(), name="api-refunds"),
    path("refunds/<int:pk>/", api.RefundDetailView.as_view(), name="api-refund"),
]
