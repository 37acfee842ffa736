from django import template
from django.forms import BoundField
from django.utils.safestring import SafeString

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
