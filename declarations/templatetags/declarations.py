from decimal import Decimal

from django import forms, template

register = template.Library()


@register.filter
def words(text: str) -> list[str]:
    return text.split()


@register.filter
def field(form: forms.Form, name: str) -> forms.BoundField:
    return form[name]


@register.filter
def money(value: Decimal | None, currency: str) -> str:
    """An amount with its currency's decimals (KRW 0, USD 2)."""
    from declarations.services import currency_places, format_money

    return format_money(value, currency_places(currency)) or ""
