"""URLs of the filing API, version 1 (mounted at /api/v1/)."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny

from declarations import api, csv_api, document_api, event_api, webhook_api

urlpatterns = [
    path("declarations/", api.DeclarationListView.as_view(), name="api-declarations"),
    path("declarations/batch/", api.DeclarationBatchView.as_view(), name="api-declarations-batch"),
    path("declarations/upload/", csv_api.UploadView.as_view(), name="api-upload"),
    path(
        "declarations/upload/<int:pk>/",
        csv_api.UploadDetailView.as_view(),
        name="api-upload-detail",
    ),
    path(
        "declarations/upload/<int:pk>/confirm/",
        csv_api.UploadConfirmView.as_view(),
        name="api-upload-confirm",
    ),
    path("declarations/<int:pk>/", api.DeclarationDetailView.as_view(), name="api-declaration"),
    path(
        "declarations/<int:pk>/submit/",
        api.DeclarationSubmitView.as_view(),
        name="api-declaration-submit",
    ),
    path(
        "declarations/<int:pk>/cancel/",
        api.DeclarationCancelView.as_view(),
        name="api-declaration-cancel",
    ),
    path(
        "declarations/<int:pk>/documents/",
        document_api.DocumentListView.as_view(),
        name="api-declaration-documents",
    ),
    path(
        "declarations/<int:pk>/documents/<int:doc_id>/",
        document_api.DocumentDownloadView.as_view(),
        name="api-declaration-document",
    ),
    path("events/", event_api.EventFeedView.as_view(), name="api-events"),
    path("webhooks/", webhook_api.WebhookListView.as_view(), name="api-webhooks"),
    path("webhooks/<int:pk>/", webhook_api.WebhookDetailView.as_view(), name="api-webhook"),
    path(
        "webhooks/<int:pk>/rotate-secret/",
        webhook_api.WebhookSecretView.as_view(),
        name="api-webhook-secret",
    ),
    path(
        "webhooks/<int:pk>/deliveries/",
        webhook_api.WebhookDeliveriesView.as_view(),
        name="api-webhook-deliveries",
    ),
    path(
        "webhooks/<int:pk>/deliveries/<int:delivery_id>/redeliver/",
        webhook_api.WebhookRedeliverView.as_view(),
        name="api-webhook-redeliver",
    ),
    path("hs-codes/", api.HsCodeView.as_view(), name="api-hs-codes"),
    path(
        "schema/",
        SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[AllowAny]),
        name="api-schema",
    ),
    path("docs/", api.ApiDocsView.as_view(), name="api-docs"),
]
