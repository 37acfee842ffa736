"""Read-only views of money records: the services write them, the admin only shows them.
Deferred accounts are opened and reinstated here by administrators."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from clearance.admin import ReadOnly as CoreReadOnly
from clearance.models import Role, User
from refunds.models import DeferredAccount, LedgerEntry, Payment, Refund, Statement


def _is_administrator(request: HttpRequest) -> bool:
    user = request.user
    return isinstance(user, User) and user.has_role(Role.ADMINISTRATOR)


class Administrators:
    """Administrators see these whatever their Django permissions; nobody deletes them."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _is_administrator(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_administrator(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _is_administrator(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_administrator(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnly(CoreReadOnly, Administrators):
    """Administrators see these; nobody changes them here."""


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnly, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["created_at", "organisation", "kind", "amount", "currency", "declaration"]
    list_filter = ["kind", "currency"]


@admin.register(Payment)
class PaymentAdmin(ReadOnly, SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ["reference", "organisation", "amount", "currency", "status", "settled_at"]
    list_filter = ["status"]
    search_fields = ["reference"]


@admin.register(Statement)
class StatementAdmin(ReadOnly, SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ["organisation", "period", "total", "currency", "status", "due_on"]
    list_filter = ["status"]


@admin.register(Refund)
class RefundAdmin(ReadOnly, SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ["pk", "organisation", "reason", "amount", "currency", "status"]
    list_filter = ["status", "reason"]


@admin.register(DeferredAccount)
class DeferredAccountAdmin(Administrators, SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ["organisation", "approved_at", "suspended_at", "suspended_reason"]
    raw_id_fields = ["organisation", "approved_by"]
