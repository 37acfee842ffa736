"""Browser forms for filing. They only carry what the person typed: the filing rules live in
``declarations.validation`` and apply to the browser, the API and CSV files alike."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from clearance.models import Purpose, TransportMode
from declarations.events import EVENT_TYPES
from declarations.models import Document, Status
from declarations.validation import LINE_FIELDS, PARTIES, header_data

BLANK: list[tuple[str, Any]] = [("", "—")]


def _text(label: Any, max_length: int, help_text: Any = "", **kwargs: Any) -> forms.CharField:
    return forms.CharField(
        label=label, max_length=max_length, required=False, help_text=help_text, **kwargs
    )


class DeclarationForm(forms.Form):
    """The header of a declaration, named as the model's fields."""

    reference = _text(
        _("Your reference"), 35, _("Your own reference, unique in your organisation.")
    )
    transport_mode = forms.ChoiceField(
        label=_("Transport mode"), choices=BLANK + TransportMode.choices, required=False
    )
    transport_document = _text(
        _("Transport document"), 50, _("Tracking number or house air waybill.")
    )
    carrier = _text(_("Carrier"), 100)
    marketplace = _text(_("Marketplace"), 100)
    order_reference = _text(_("Order reference"), 50)
    purpose = forms.ChoiceField(label=_("Purpose"), choices=BLANK + Purpose.choices, required=False)
    seller_name = _text(_("Seller name"), 200)
    seller_address = _text(_("Seller address"), 300)
    seller_country = _text(_("Seller country"), 2, _("Two-letter code, such as CN."))
    consignee_name = _text(_("Consignee name"), 200)
    consignee_address = _text(_("Consignee address"), 300)
    consignee_country = _text(_("Consignee country"), 2, _("Two-letter code, such as KR."))
    consignee_id_number = _text(
        _("Consignee identification number"), 50, _("Where the regime asks for one.")
    )
    arrival_office = _text(_("Arrival office"), 50)
    currency = _text(_("Currency"), 3, _("Three-letter code, such as USD."))
    shipping_cost = _text(_("Shipping cost"), 20)
    insurance_cost = _text(_("Insurance cost"), 20)
    tax_collected_at_sale = forms.BooleanField(label=_("Tax was collected at sale"), required=False)
    vendor_tax_id = _text(
        _("Vendor tax registration number"), 50, _("Needed when tax was collected at sale.")
    )

    def to_data(self) -> dict[str, Any]:
        """The header in the API's shape, for ``declarations.validation``."""
        return header_data(self.cleaned_data)

    @staticmethod
    def initial_from(data: dict[str, Any]) -> dict[str, Any]:
        initial = {k: v for k, v in data.items() if k not in (*PARTIES, "lines")}
        for party in PARTIES:
            for key, value in (data.get(party) or {}).items():
                initial[f"{party}_{key}"] = value
        return initial

    @staticmethod
    def field_for(path: str) -> str | None:
        """The form field an error path names (``seller.name`` → ``seller_name``)."""
        name = path.replace(".", "_")
        return name if name in DeclarationForm.base_fields else None


class LineForm(forms.Form):
    description = _text(_("Description"), 300, _("What the goods are, such as “cotton T-shirts”."))
    hs_code = _text(_("HS code"), 6, _("6 digits."))
    quantity = _text(_("Quantity"), 20)
    unit = _text(_("Unit"), 10, initial="pcs")
    value = _text(_("Value"), 20)
    origin_country = _text(_("Origin country"), 2)
    gross_mass_kg = _text(_("Gross mass (kg)"), 20)
    product_url = _text(_("Product web address"), 500)

    FIELDS = LINE_FIELDS

    def is_blank(self) -> bool:
        c = self.cleaned_data
        return not any(c.get(name) for name in self.FIELDS if name != "unit")

    def to_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name, "") for name in self.FIELDS}


LineFormSet = forms.formset_factory(LineForm, extra=0, max_num=999, absolute_max=999)


class DeclarationFilter(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *Status.choices]
    )


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Key name"),
        max_length=100,
        help_text=_("Say which system will use it, such as “warehouse system”."),
    )


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Document.Kind.choices)
    file = forms.FileField(label=_("File"), help_text=_("PDF, JPEG or PNG, at most 10 MB."))


class CsvUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("One row per item line; the rows of a declaration share its reference."),
    )


class WebhookEndpointForm(forms.Form):
    """An endpoint's address, description and event types; the rules (https, a public
    address, known types) are the service's, ``declarations.webhooks``."""

    url = forms.CharField(
        label=_("Address"),
        max_length=500,
        help_text=_("An https:// address of your system, reachable on the internet."),
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=200,
        required=False,
        help_text=_("Say which system receives it, such as “order system”."),
    )
    event_types = forms.MultipleChoiceField(
        label=_("Events to send"),
        choices=[(t, t) for t in EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one event type.")},
    )
