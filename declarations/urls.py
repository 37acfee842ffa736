"""Filing in the browser (mounted at /declarations/)."""

from django.urls import path

from declarations import views, webhook_views

urlpatterns = [
    path("", views.declaration_list, name="declaration_list"),
    path("new/", views.declaration_new, name="declaration_new"),
    path("hs-codes/", views.hs_lookup, name="hs_lookup"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/<int:pk>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("webhooks/", webhook_views.webhook_endpoints, name="webhook_endpoints"),
    path("webhooks/new/", webhook_views.webhook_endpoint_new, name="webhook_endpoint_new"),
    path("webhooks/<int:pk>/", webhook_views.webhook_endpoint, name="webhook_endpoint"),
    path(
        "webhooks/<int:pk>/edit/", webhook_views.webhook_endpoint_edit, name="webhook_endpoint_edit"
    ),
    path(
        "webhooks/<int:pk>/active/",
        webhook_views.webhook_endpoint_active,
        name="webhook_endpoint_active",
    ),
    path(
        "webhooks/<int:pk>/secret/",
        webhook_views.webhook_endpoint_rotate,
        name="webhook_endpoint_rotate",
    ),
    path(
        "webhooks/<int:pk>/delete/",
        webhook_views.webhook_endpoint_delete,
        name="webhook_endpoint_delete",
    ),
    path(
        "webhooks/<int:pk>/deliveries/<int:delivery_id>/redeliver/",
        webhook_views.webhook_redeliver,
        name="webhook_redeliver",
    ),
    path("upload/", views.csv_upload, name="declaration_upload"),
    path("upload/template.csv", views.csv_template, name="csv_template"),
    path("upload/<int:pk>/", views.csv_upload_detail, name="csv_upload_detail"),
    path("upload/<int:pk>/confirm/", views.csv_upload_confirm, name="csv_upload_confirm"),
    path("upload/<int:pk>/errors.csv", views.csv_upload_errors, name="csv_upload_errors"),
    path("documents/<int:pk>/", views.document_download, name="document_download"),
    path("<int:pk>/", views.declaration_detail, name="declaration_detail"),
    path("<int:pk>/edit/", views.declaration_edit, name="declaration_edit"),
    path("<int:pk>/submit/", views.declaration_submit, name="declaration_submit"),
    path("<int:pk>/cancel/", views.declaration_cancel, name="declaration_cancel"),
    path("<int:pk>/copy/", views.declaration_copy, name="declaration_copy"),
    path("<int:pk>/documents/", views.document_upload, name="document_upload"),
]
