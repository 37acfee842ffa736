from collections.abc import Mapping
from typing import Any

from django import template
from django.forms import BoundField
from django.utils.safestring import SafeString

from clearance.money import Amount, format_money

register = template.Library()

_WIDGET_CLASSES = {
    "Select": "usa-select",
    "SelectMultiple": "usa-select",
    "Textarea": "usa-textarea",
    "CheckboxInput": "usa-checkbox__input",
    "ClearableFileInput": "usa-file-input",
    "FileInput": "usa-file-input",
}


@register.simple_tag
def widget(field: BoundField) -> SafeString:
    """Render a field's widget with the design system's class, tied to its hint and errors."""
    kind = type(field.field.widget).__name__
    css = _WIDGET_CLASSES.get(kind, "usa-input")
    if field.errors and css in {"usa-input", "usa-select", "usa-textarea"}:
        css += f" {css}--error"
    described = [f"{field.auto_id}_helptext"] if field.help_text else []
    described += [f"{field.auto_id}_error_{n}" for n in range(1, len(field.errors) + 1)]
    attrs: dict[str, str | bool] = {"class": css}
    if described:
        attrs["aria-describedby"] = " ".join(described)
    return field.as_widget(attrs=attrs)


@register.filter
def money(amount: Amount, currency: str | None) -> str:
    """``{{ amount|money:currency }}``: "344,287 KRW" in the reader's language (see
    ``clearance.money.format_money``); no amount reads "Not assessed"."""
    return format_money(amount, currency or "")


# The reason an assessment gives when it converted with a demonstration rate (a rate carried
# forward from the last published one), which a reader must see beside the amounts it made.
DEMO_EXCHANGE_RATE = "demo_exchange_rate"


@register.inclusion_tag("includes/exchange_rate_note.html")
def exchange_rate_note(assessment: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """``{% exchange_rate_note assessment %}``: the exchange-rate notes among an assessment
    dictionary's reasons, for places that show its amounts without listing every reason."""
    reasons = (assessment.get("reasons") or []) if isinstance(assessment, Mapping) else []
    return {
        "notes": [
            str(reason.get("message", ""))
            for reason in reasons
            if isinstance(reason, Mapping) and reason.get("code") == DEMO_EXCHANGE_RATE
        ]
    }
