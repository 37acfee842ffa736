from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from refunds.models import Refund


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


class RefundForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=Refund.Reason.choices)
    amount = forms.DecimalField(
        label=_("Amount to refund"),
        min_value=0,
        max_digits=18,
        decimal_places=4,
        help_text=_("At most what was paid, less what was already refunded."),
    )
    return_tracking_number = forms.CharField(
        label=_("Return tracking number"),
        max_length=50,
        required=False,
        help_text=_("For returned goods: the tracking number of the parcel you sent back."),
    )
    explanation = forms.CharField(
        label=_("Explanation"), max_length=2000, required=False, widget=forms.Textarea
    )
    evidence = MultipleFileField(
        label=_("Evidence"),
        required=False,
        help_text=_("Photos or documents (PDF, JPEG or PNG, up to 10 MB each)."),
    )


class DecisionForm(forms.Form):
    note = forms.CharField(
        label=_("Note"),
        max_length=500,
        required=False,
        help_text=_("Required when you reject: the seller reads it."),
    )
