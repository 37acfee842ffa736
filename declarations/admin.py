"""Declarations in the admin site: to look at, not to change. Every change goes through the
services (the filing pages, the API, officer review), which keep the history and the rules."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from clearance.admin import ReadOnly
from declarations.models import (
    CsvUpload,
    Declaration,
    Line,
    StatusChange,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)


class LineInline(ReadOnly, admin.TabularInline):  # type: ignore[type-arg]
    model = Line
    extra = 0
    fields = ["number", "description", "hs_code", "quantity", "unit", "value", "origin_country"]


class StatusChangeInline(ReadOnly, admin.TabularInline):  # type: ignore[type-arg]
    model = StatusChange
    extra = 0
    fields = ["at", "from_status", "to_status", "by", "by_key", "version", "note"]


@admin.register(Declaration)
class DeclarationAdmin(ReadOnly, SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ["system_reference", "reference", "organisation", "status", "lane", "created_at"]
    list_filter = ["status", "lane", "transport_mode"]
    search_fields = ["system_reference", "reference", "transport_document", "consignee_name"]
    inlines = [LineInline, StatusChangeInline]


@admin.register(CsvUpload)
class CsvUploadAdmin(ReadOnly, SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ["original_name", "organisation", "state", "total_rows", "created_at"]
    list_filter = ["state"]
    exclude = ["errors"]


class WebhookAttemptInline(ReadOnly, admin.TabularInline):  # type: ignore[type-arg]
    model = WebhookAttempt
    extra = 0
    fields = ["at", "status_code", "error", "duration_ms", "manual", "by"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnly, SimpleHistoryAdmin):  # type: ignore[misc]
    """The secret is never shown, here or in the history."""

    list_display = ["url", "organisation", "active", "disabled_at", "created_at"]
    list_filter = ["active"]
    search_fields = ["url", "organisation__name"]
    exclude = ["secret"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnly, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["pk", "endpoint", "event", "state", "attempts", "next_attempt_at"]
    list_filter = ["state"]
    raw_id_fields = ["endpoint", "event"]
    inlines = [WebhookAttemptInline]
