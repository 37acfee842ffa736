import copy
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError
from django.forms.models import construct_instance
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from clearance.models import (
    ApiKey,
    ExchangeRate,
    Membership,
    Organisation,
    Regime,
    Role,
    TariffRate,
    User,
)
from clearance.regime_rules import regime_save, regime_validate


class ReadOnly:
    """For records that only the services write (they keep the history and the rules): the
    admin shows them and changes nothing."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnly, SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ["name", "prefix", "organisation", "created_at", "last_used_at", "revoked_at"]
    exclude = ["secret_hash"]


@admin.register(User)
class UserAdmin(SimpleHistoryAdmin, BaseUserAdmin):  # type: ignore[misc,type-arg]
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_staff", "email_verified_at"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name", "language", "email_verified_at")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    filter_horizontal = ["groups"]


class MembershipInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organisation)
class OrganisationAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ["name", "kind", "owner", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name"]
    autocomplete_fields = ["owner"]
    inlines = [MembershipInline]


class AdministratorOnly:
    """Regimes, tariff and exchange rates are edited by administrators, whatever Django perms."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _is_administrator(request)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return _is_administrator(request)

    def has_add_permission(self, request: HttpRequest, *args: object) -> bool:
        return _is_administrator(request)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return _is_administrator(request)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return _is_administrator(request)


def _is_administrator(request: HttpRequest) -> bool:
    user = request.user
    return isinstance(user, User) and user.has_role(Role.ADMINISTRATOR)


class RegimeForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Regime
        exclude: list[str] = []

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors:
            candidate = construct_instance(self, copy.copy(self.instance))
            try:
                regime_validate(candidate)
            except ValidationError as error:
                self.add_error(None, error)
        return data


@admin.register(Regime)
class RegimeAdmin(AdministratorOnly, SimpleHistoryAdmin):  # type: ignore[misc]
    form = RegimeForm
    list_display = [
        "economy",
        "name",
        "effective_from",
        "effective_to",
        "threshold_currency",
        "duty_free_up_to",
        "tax_free_up_to",
        "collection_model",
        "certainty",
        "source",
    ]
    list_filter = ["certainty", "collection_model", "economy"]
    search_fields = ["economy", "name", "source", "notes"]
    fieldsets = (
        (None, {"fields": ("economy", "name", "effective_from", "effective_to")}),
        (
            _("Limits"),
            {
                "fields": (
                    "threshold_currency",
                    "duty_free_up_to",
                    "tax_free_up_to",
                    "transaction_cap",
                    "threshold_overrides",
                    "aggregation_rules",
                )
            },
        ),
        (
            _("Value, duty and tax"),
            {
                "fields": (
                    "local_currency",
                    "value_basis",
                    "personal_use_percent",
                    "default_duty_rate",
                    "tax_rate",
                    "collection_model",
                    "vendor_collection_up_to",
                    "vendor_tax_id_pattern",
                    "handling_fee",
                    "waive_below",
                )
            },
        ),
        (
            _("Who and what may use the mode"),
            {
                "fields": (
                    "eligible_transport_modes",
                    "excluded_hs_prefixes",
                    "consignee_id_required",
                    "consignee_id_pattern",
                )
            },
        ),
        (_("Where this comes from"), {"fields": ("source", "certainty", "notes")}),
    )

    def save_model(self, request: HttpRequest, obj: Regime, form: object, change: bool) -> None:
        assert isinstance(request.user, User)
        regime_save(regime=obj, by=request.user)


@admin.register(TariffRate)
class TariffRateAdmin(AdministratorOnly, SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ["economy", "hs_prefix", "rate", "specific_amount", "effective_from"]
    list_filter = ["economy"]
    search_fields = ["hs_prefix", "description"]


@admin.register(ExchangeRate)
class ExchangeRateAdmin(AdministratorOnly, admin.ModelAdmin):  # type: ignore[type-arg]
    """Read only: rates come from the published files (``import_exchange_rates``), so what an
    assessment used can always be traced to a publication."""

    list_display = ["date", "base", "currency", "rate"]
    list_filter = ["base", "currency"]
    date_hierarchy = "date"

    def has_add_permission(self, request: HttpRequest, *args: object) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
