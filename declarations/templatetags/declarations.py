from django import forms, template

register = template.Library()


@register.filter
def words(text: str) -> list[str]:
    return text.split()


@register.filter
def field(form: forms.Form, name: str) -> forms.BoundField:
    return form[name]
