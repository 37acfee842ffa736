"""Pages and API of the low-value mode: the public duty estimator (a page and an API that assess
a parcel without saving anything) and the administrators' overview of the regimes.

The estimator's page and API both call ``regimes.assess_parcel``, which assesses with
``regimes.ParcelAssessor`` as a declaration's submission does, so an estimate and the later
assessment of a parcel agree.
"""

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from clearance import regimes
from clearance.access import staff_required
from clearance.api import (
    COUNTRIES,
    CURRENCIES,
    ERROR_REF,
    HS_CODE,
    DecimalText,
    Flag,
    Text,
)
from clearance.assessment import goods_label
from clearance.assessment_types import AssessmentResult, LineInput, ParcelInput, RegimeRules
from clearance.errors import FieldError, Invalid
from clearance.models import Purpose, Regime, Role, TransportMode
from clearance.reference import countries, currencies, hs_exists
from clearance.regime_rules import regime_in_force, rules_of

MAX_LINES = 999

# --- Explaining a regime in words ------------------------------------------------------


def _amount(value: Decimal, currency: str) -> str:
    return f"{value.normalize():,f} {currency}"


def explain(regime: Regime) -> list[str]:
    """The regime's rules as plain sentences, for a buyer or a small seller on the estimator's
    page and for administrators in the overview of the regimes."""
    rules = rules_of(regime)
    return [
        *_limits_in_words(rules),
        *_aggregation_in_words(rules),
        *_restrictions_in_words(rules),
        *_charges_in_words(rules),
    ]


def _limits_in_words(rules: RegimeRules) -> list[str]:
    """The de minimis limits, the value they are compared with, overrides, the cap."""
    thr = rules.threshold_currency
    out = []
    duty_free, tax_free = rules.duty_free_up_to, rules.tax_free_up_to
    if duty_free == 0 and tax_free == 0:
        out.append(_("There is no de minimis relief: duty and tax are due on every parcel."))
    else:
        if duty_free is None:
            out.append(_("No duty is charged on goods in this mode."))
        elif duty_free:
            out.append(
                _("A parcel worth up to %(limit)s owes no duty.")
                % {"limit": _amount(duty_free, thr)}
            )
        if tax_free is None:
            out.append(_("No tax is charged on goods in this mode."))
        elif tax_free:
            out.append(
                _("A parcel worth up to %(limit)s owes no tax.") % {"limit": _amount(tax_free, thr)}
            )
        else:
            out.append(_("Tax is due on every parcel, whatever its value."))
    if rules.value_basis == "cif":
        out.append(_("The value counted is the price of the goods with shipping and insurance."))
    else:
        out.append(_("The value counted is the price of the goods, without shipping."))
    if rules.personal_use_percent != 100:
        out.append(
            _("For goods for personal use, %(percent)s%% of the price is counted.")
            % {"percent": f"{rules.personal_use_percent.normalize():f}"}
        )
    out.extend(override.note for override in rules.overrides if override.note)
    if rules.transaction_cap is not None:
        out.append(
            _("A parcel worth more than %(cap)s cannot use the low-value mode.")
            % {"cap": _amount(rules.transaction_cap, thr)}
        )
    return out


def _aggregation_in_words(rules: RegimeRules) -> list[str]:
    out = []
    periods = {"day": _("day"), "half_year": _("half-year"), "year": _("year")}
    for rule in rules.aggregation:
        period = periods.get(rule.period, rule.period)
        if rule.kind == "combine" and rule.period == "day":
            out.append(
                _(
                    "Parcels for the same person arriving on the same day are counted together "
                    "against the limits."
                )
            )
        elif rule.kind == "combine":
            out.append(
                _("Parcels for the same person in the same %(period)s are counted together.")
                % {"period": period}
            )
        elif rule.kind == "value_cap":
            out.append(
                _("One person may bring in at most %(cap)s per %(period)s in this mode.")
                % {"cap": _amount(rule.limit, rules.threshold_currency), "period": period}
            )
        else:
            out.append(
                _("At most %(count)s parcels per person per %(period)s may use this mode.")
                % {"count": f"{rule.limit.normalize():f}", "period": period}
            )
    return out


def _restrictions_in_words(rules: RegimeRules) -> list[str]:
    """Goods and transport modes the mode excludes, and what the parties must give."""
    out = []
    if rules.excluded_hs_prefixes:
        goods = "; ".join(
            f"{goods_label(prefix)} (HS {prefix})" for prefix in rules.excluded_hs_prefixes
        )
        out.append(_("These goods cannot use the mode: %(goods)s.") % {"goods": goods})
    if rules.transport_modes and set(rules.transport_modes) != set(TransportMode.values):
        names = ", ".join(str(TransportMode(m).label) for m in rules.transport_modes)
        out.append(_("Only these transport modes may use it: %(modes)s.") % {"modes": names})
    if rules.consignee_id_required:
        out.append(_("The person receiving the parcel must give their identification number."))
    if rules.collection_model == "vendor":
        out.append(
            _(
                "Registered sellers collect the tax when you buy. If the seller did and gives "
                "its tax number, no tax is due at the border."
            )
        )
    return out


def _charges_in_words(rules: RegimeRules) -> list[str]:
    """Tax, duty and the handling fee, and the amount below which none is collected."""
    out = []
    if rules.tax_rate:
        out.append(
            _("Tax is %(rate)s%% of the value plus duty.")
            % {"rate": f"{rules.tax_rate.normalize():f}"}
        )
    out.append(
        _("Duty follows the tariff; goods it does not list pay %(rate)s%%.")
        % {"rate": f"{rules.default_duty_rate.normalize():f}"}
    )
    if rules.handling_fee:
        out.append(
            _("A handling fee of %(fee)s is charged per parcel.")
            % {"fee": _amount(rules.handling_fee, rules.local_currency)}
        )
    if rules.waive_below:
        out.append(
            _("Duty and tax below %(amount)s are not collected.")
            % {"amount": _amount(rules.waive_below, rules.local_currency)}
        )
    return out


# --- The page --------------------------------------------------------------------------


def _economy_choices() -> list[tuple[str, str]]:
    names = countries()
    codes = Regime.objects.values_list("economy", flat=True).distinct()
    return sorted(((c, names.get(c, c)) for c in codes), key=lambda pair: pair[1])


def _country_choices() -> list[tuple[str, str]]:
    return [("", _("Choose a country")), *sorted(countries().items(), key=lambda pair: pair[1])]


class EstimateForm(forms.Form):
    regime = forms.ChoiceField(label=_lazy("Destination economy"))
    date = forms.DateField(
        label=_lazy("Date of import"),
        required=False,
        help_text=_lazy("As YYYY-MM-DD. Leave it empty for today."),
    )
    transport_mode = forms.ChoiceField(label=_lazy("Transport mode"), choices=TransportMode.choices)
    purpose = forms.ChoiceField(label=_lazy("Purpose"), choices=Purpose.choices)
    currency = forms.ChoiceField(
        label=_lazy("Currency of the prices"),
        help_text=_lazy("The currency the goods were paid in."),
    )
    shipping_cost = forms.DecimalField(
        label=_lazy("Shipping cost"), min_value=0, decimal_places=3, initial=0
    )
    insurance_cost = forms.DecimalField(
        label=_lazy("Insurance cost"), min_value=0, decimal_places=3, initial=0, required=False
    )
    seller_country = forms.ChoiceField(label=_lazy("Country the parcel is sent from"))
    consignee_id = forms.CharField(
        label=_lazy("Consignee identification number"),
        required=False,
        max_length=50,
        help_text=_lazy("Some economies require it, e.g. the Republic of Korea's P number."),
    )
    tax_collected_at_sale = forms.BooleanField(
        label=_lazy("The seller collected the tax when I bought"), required=False
    )
    vendor_tax_id = forms.CharField(
        label=_lazy("Seller's tax registration number"), required=False, max_length=50
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        regime_field = self.fields["regime"]
        assert isinstance(regime_field, forms.ChoiceField)
        regime_field.choices = _economy_choices()
        currency_field = self.fields["currency"]
        assert isinstance(currency_field, forms.ChoiceField)
        currency_field.choices = [(c, c) for c in sorted(currencies())]
        seller = self.fields["seller_country"]
        assert isinstance(seller, forms.ChoiceField)
        seller.choices = _country_choices()


class LineForm(forms.Form):
    description = forms.CharField(label=_lazy("Goods"), max_length=300)
    hs_code = forms.RegexField(
        label=_lazy("HS code"),
        regex=r"^\d{6}$",
        help_text=_lazy("Six digits, e.g. 851830 for headphones."),
        error_messages={"invalid": _lazy("Enter the six digits of an HS 2022 subheading.")},
    )
    quantity = forms.DecimalField(label=_lazy("Quantity"), min_value=Decimal("0.001"), initial=1)
    value = forms.DecimalField(
        label=_lazy("Price paid for all of them"), min_value=0, decimal_places=3
    )
    origin_country = forms.ChoiceField(label=_lazy("Country of origin"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        origin = self.fields["origin_country"]
        assert isinstance(origin, forms.ChoiceField)
        origin.choices = _country_choices()

    def clean_hs_code(self) -> str:
        code: str = self.cleaned_data["hs_code"]
        if not hs_exists(code):
            raise forms.ValidationError(
                _("%(code)s is not an HS 2022 subheading.") % {"code": code}
            )
        return code


LineFormSet = forms.formset_factory(
    LineForm, extra=2, min_num=1, validate_min=True, max_num=20, validate_max=True
)


def _parcel(
    data: Mapping[str, Any],
    lines: Iterable[Mapping[str, Any]],
    *,
    seller_country: str,
    consignee_country: str,
    consignee_id: str,
) -> ParcelInput:
    """The parcel in the cleaned data of the estimator's form or of its API. The two name the
    parties differently, so the caller picks them out; no date means today."""
    return ParcelInput(
        date=data.get("date") or timezone.localdate(),
        transport_mode=data["transport_mode"],
        purpose=data["purpose"],
        currency=data["currency"],
        shipping_cost=data.get("shipping_cost") or Decimal(0),
        insurance_cost=data.get("insurance_cost") or Decimal(0),
        tax_collected_at_sale=bool(data.get("tax_collected_at_sale")),
        vendor_tax_id=(data.get("vendor_tax_id") or "").strip(),
        seller_country=seller_country,
        consignee_country=consignee_country,
        consignee_id=consignee_id.strip(),
        lines=tuple(
            LineInput(
                description=line["description"],
                hs_code=line["hs_code"],
                quantity=line["quantity"],
                value=line["value"],
                origin_country=line["origin_country"],
                gross_mass_kg=line.get("gross_mass_kg"),
            )
            for line in lines
        ),
    )


def estimate_page(request: HttpRequest) -> HttpResponse:
    """Anyone may estimate what a parcel would owe; nothing is saved."""
    economy = settings.PORTAL_ECONOMY
    initial = {"regime": economy, "currency": "USD", "transport_mode": "express"}
    if request.method == "POST":
        form = EstimateForm(request.POST)
        lines = LineFormSet(request.POST, prefix="lines")
    else:
        # A link may name another economy (?regime=JP): its rules are then explained.
        asked = request.GET.get("regime", "").upper()
        if asked and Regime.objects.filter(economy=asked).exists():
            economy = initial["regime"] = asked
        form = EstimateForm(initial=initial)
        lines = LineFormSet(prefix="lines")
    result: AssessmentResult | None = None
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        data = form.cleaned_data
        filled = [f.cleaned_data for f in lines.forms if f.has_changed() and f.cleaned_data]
        parcel = _parcel(
            data,
            filled,
            seller_country=data["seller_country"],
            consignee_country=data["regime"],
            consignee_id=data.get("consignee_id", ""),
        )
        result = regimes.assess_parcel(parcel, regime_code=data["regime"])
        economy = data["regime"]
    elif form.is_bound and form.is_valid():
        economy = form.cleaned_data["regime"]
    errors: list[tuple[str | None, Any, Any]] = []
    if form.is_bound:
        errors = [(f.id_for_label, f.label, e) for f in form for e in f.errors]
        errors += [(None, None, e) for e in lines.non_form_errors()]
        for number, line in enumerate(lines.forms, start=1):
            errors += [
                (f.id_for_label, _("Item %(n)s: %(field)s") % {"n": number, "field": f.label}, e)
                for f in line
                for e in f.errors
            ]
    regime = regime_in_force(economy, timezone.localdate())
    return render(
        request,
        "clearance/estimator.html",
        {
            "form": form,
            "lines": lines,
            "errors": errors,
            "result": result,
            "estimate": result.to_dict() if result else None,
            "regime": regime,
            "rules": explain(regime) if regime else [],
            "economy_name": countries().get(economy, economy),
        },
    )


# --- The administrators' overview ----------------------------------------------------


@staff_required(Role.ADMINISTRATOR)
def regime_list(request: HttpRequest) -> HttpResponse:
    """Every economy's regimes with their periods, limits, source and certainty."""
    names = countries()
    today = timezone.localdate()
    rows = [
        {
            "regime": regime,
            "economy_name": names.get(regime.economy, regime.economy),
            "in_force": regime.effective_from <= today
            and (regime.effective_to is None or regime.effective_to >= today),
            "rules": explain(regime),
        }
        for regime in Regime.objects.order_by("economy", "-effective_from")
    ]
    return render(
        request,
        "clearance/regime_list.html",
        {"rows": rows, "portal_economy": settings.PORTAL_ECONOMY},
    )


# --- The API ---------------------------------------------------------------------------


class EstimateThrottle(SimpleRateThrottle):
    """Per client address (or user): the estimator is public, so it is rate-limited."""

    scope = "estimate"

    def get_rate(self) -> str:
        return str(settings.ESTIMATE_API_RATE)

    def get_cache_key(self, request: Request, view: APIView) -> str:
        who = request.user.pk if request.user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": who}


class EstimateCountrySerializer(serializers.Serializer[dict[str, Any]]):
    country = serializers.ChoiceField(choices=COUNTRIES, help_text="ISO 3166-1 alpha-2 code.")


class EstimateConsigneeSerializer(EstimateCountrySerializer):
    id_number = Text(max_length=50, required=False, allow_blank=True)


class EstimateLineSerializer(serializers.Serializer[dict[str, Any]]):
    description = Text(max_length=300)
    hs_code = Text(pattern=HS_CODE, help_text="An HS 2022 subheading (422 when there is none).")
    quantity = DecimalText(digits=11, places=3, help_text="Greater than zero.")
    value = DecimalText(digits=11, places=3)
    origin_country = serializers.ChoiceField(choices=COUNTRIES)
    gross_mass_kg = DecimalText(digits=9, places=3, required=False, allow_null=True)


class EstimateSerializer(serializers.Serializer[dict[str, Any]]):
    """The parcel to estimate. Its shape is checked here (400); ``rule_errors`` holds what the
    shape cannot say (422): a regime configured for the economy, HS codes that exist, a
    quantity above zero."""

    regime = Text(
        pattern="^[A-Za-z]{2}$",
        required=False,
        help_text="The economy whose low-value regime applies; the portal's when not given.",
    )
    date = serializers.DateField(required=False, help_text="Today when not given.")
    transport_mode = serializers.ChoiceField(choices=TransportMode.values)
    purpose = serializers.ChoiceField(choices=Purpose.values)
    currency = serializers.ChoiceField(choices=CURRENCIES, help_text="ISO 4217 code.")
    shipping_cost = DecimalText(digits=11, places=3, required=False)
    insurance_cost = DecimalText(digits=11, places=3, required=False)
    tax_collected_at_sale = Flag(required=False)
    vendor_tax_id = Text(max_length=50, required=False, allow_blank=True)
    seller = EstimateCountrySerializer()
    consignee = EstimateConsigneeSerializer()
    lines = serializers.ListField(
        child=EstimateLineSerializer(), min_length=1, max_length=MAX_LINES
    )

    def rule_errors(self) -> list[FieldError]:
        data = self.validated_data
        errors = []
        regime = data.get("regime", "").upper()
        if regime and not Regime.objects.filter(economy=regime).exists():
            errors.append(
                FieldError(
                    "regime",
                    "unknown",
                    _("No low-value regime is configured for %(code)s.") % {"code": regime},
                )
            )
        for index, line in enumerate(data["lines"]):
            if not hs_exists(line["hs_code"]):
                errors.append(
                    FieldError(
                        f"lines[{index}].hs_code", "unknown", _("Not an HS 2022 subheading.")
                    )
                )
            if line["quantity"] <= 0:
                errors.append(
                    FieldError(
                        f"lines[{index}].quantity",
                        "not_positive",
                        _("Enter a number greater than zero."),
                    )
                )
        return errors

    def parcel(self) -> ParcelInput:
        data = self.validated_data
        return _parcel(
            data,
            data["lines"],
            seller_country=data["seller"]["country"],
            consignee_country=data["consignee"]["country"],
            consignee_id=data["consignee"].get("id_number", ""),
        )


class MoneySerializer(serializers.Serializer[dict[str, Any]]):
    amount = serializers.CharField(allow_null=True, help_text="Null when the parcel is held.")
    currency = serializers.CharField()


class ReasonSerializer(serializers.Serializer[dict[str, Any]]):
    code = serializers.CharField()
    message = serializers.CharField()
    blocking = serializers.BooleanField()


class ResultLineSerializer(serializers.Serializer[dict[str, Any]]):
    hs_code = serializers.CharField()
    customs_value = serializers.CharField()
    duty_rate = serializers.CharField(help_text="Percent.")
    duty = serializers.CharField()
    tax = serializers.CharField()
    excluded = serializers.BooleanField()


class EstimateResultSerializer(serializers.Serializer[dict[str, Any]]):
    """The shape of ``AssessmentResult.to_dict()``, for the API schema."""

    regime = serializers.CharField()
    date = serializers.DateField()
    eligible = serializers.BooleanField()
    held = serializers.BooleanField()
    hold_reason = serializers.CharField()
    reasons = ReasonSerializer(many=True)
    customs_value = MoneySerializer()
    duty = MoneySerializer()
    tax = MoneySerializer()
    fees = MoneySerializer()
    total_due = MoneySerializer()
    exchange_rates = serializers.DictField(child=serializers.CharField())
    lines = ResultLineSerializer(many=True)


class EstimateView(APIView):
    """``POST /api/v1/estimate/``: what a parcel would owe, computed and not saved."""

    permission_classes = [AllowAny]
    throttle_classes = [EstimateThrottle]

    @extend_schema(
        request=EstimateSerializer,
        responses={
            200: EstimateResultSerializer,
            422: OpenApiResponse(
                ERROR_REF,
                description="A regime not configured, an HS code that does not exist, or a "
                "quantity of zero.",
            ),
        },
        summary="Estimate what a parcel would owe",
    )
    def post(self, request: Request) -> Response:
        serializer = EstimateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        errors = serializer.rule_errors()
        if errors:
            raise Invalid(errors, summary=_("The parcel has errors; see errors."))
        regime = serializer.validated_data.get("regime", "").upper() or settings.PORTAL_ECONOMY
        result = regimes.assess_parcel(serializer.parcel(), regime_code=regime)
        return Response(result.to_dict())
