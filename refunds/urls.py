"""Pages of payments and refunds (mounted at the site root: /payments/, /refunds/, /staff/refunds/,
and the sandbox gateway at /sandbox-gateway/, whose page answers 404 unless the sandbox is the
configured provider: the check is made per request, so the URLs never depend on when they were
first loaded)."""

from django.urls import URLPattern, URLResolver, include, path

from refunds import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("payments/", views.payments_page, name="payments"),
    path("payments/webhook/", views.payment_webhook, name="payment_webhook"),
    path("payments/<int:pk>/", views.payment_detail, name="payment_detail"),
    path("payments/<int:pk>/status/", views.payment_status, name="payment_status"),
    path("payments/<int:pk>/receipt.pdf", views.payment_receipt, name="payment_receipt"),
    path("payments/declarations/<int:pk>/pay/", views.pay_declaration, name="pay_declaration"),
    path("payments/statements/<int:pk>/pay/", views.pay_statement, name="pay_statement"),
    path(
        "payments/statements/<int:pk>/statement.pdf",
        views.statement_document,
        name="statement_document",
    ),
    path("refunds/new/<int:pk>/", views.refund_new, name="refund_new"),
    path("refunds/<int:pk>/", views.refund_detail, name="refund_detail"),
    path("refunds/<int:pk>/status/", views.refund_status, name="refund_status"),
    path("refunds/<int:pk>/receipt.pdf", views.refund_receipt, name="refund_receipt"),
    path("refunds/evidence/<int:pk>/", views.evidence_download, name="refund_evidence"),
    path("staff/refunds/", views.staff_refund_queue, name="staff_refund_queue"),
    path("staff/refunds/<int:pk>/", views.staff_refund_detail, name="staff_refund_detail"),
    path("sandbox-gateway/", include("refunds.sandbox")),
]
