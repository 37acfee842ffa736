from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from refunds.models import DeferredAccount, LedgerEntry


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only: the ledger is append-only, written by the services."""

    list_display = ["created_at", "organisation", "kind", "amount", "currency", "declaration"]
    list_filter = ["kind", "currency"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(DeferredAccount)
class DeferredAccountAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ["organisation", "approved_at", "suspended_at", "suspended_reason"]
    raw_id_fields = ["organisation", "approved_by"]
