"""Money as a person reads it: the currency's decimals, the reader's separators, the ISO code.

Pages, PDFs and mails all show amounts through ``format_money`` (in templates, the ``money``
filter of the ``portal`` tag library). Machine-readable output (the API, CSV files) keeps its
own plain form: minor-unit decimals, no grouping, the currency in a field of its own.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

from babel import Locale, UnknownLocaleError
from babel.numbers import format_decimal
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

from clearance.reference import currency_decimals, currency_exists

# Between the number and the code: a space that never breaks, so a narrow table cell, a
# stacked table on a phone or a PDF column never leaves "KRW" alone on the next line. U+00A0
# is in every font the PDFs use (DejaVu Sans, Noto CJK); the narrower U+202F is not in all.
SEPARATOR = "\u00a0"

Amount = Decimal | int | str | None


def format_money(amount: Amount, currency: str, language: str | None = None) -> str:
    """``amount`` in ``currency`` for a reader of ``language`` (the active one by default):
    "1,234.50 USD", "344,287 KRW". No amount (None or "") reads "Not assessed".

    The decimals are the currency's ISO 4217 minor unit, the one the assessment rounds to;
    an amount with more places is rounded half-up (amounts are normally rounded once,
    upstream, so this only pads: "59" USD reads "59.00 USD"). A code the portal does not
    know keeps the amount's own decimals.
    """
    value = _decimal(amount)
    if value is None:
        return gettext("Not assessed")
    if currency_exists(currency):
        value = value.quantize(Decimal(1).scaleb(-currency_decimals(currency)), ROUND_HALF_UP)
    if value == 0:
        value = abs(value)  # "-0.00" after rounding a tiny negative reads "0.00"
    places = max(0, -int(value.as_tuple().exponent))
    pattern = "#,##0" + ("." + "0" * places if places else "")
    number = format_decimal(value, format=pattern, locale=_locale(language))
    return f"{number}{SEPARATOR}{currency}" if currency else number


def _decimal(amount: Amount) -> Decimal | None:
    if amount is None:
        return None
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int | str):
        raise TypeError(f"An amount is a Decimal, an int or a string, not {type(amount)!r}")
    if isinstance(amount, str):
        amount = amount.strip()
        if not amount:
            return None
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise ValueError(f"Not an amount: {amount!r}") from None
    if not value.is_finite():
        raise ValueError(f"Not an amount: {amount!r}")
    return value


def _locale(language: str | None) -> Locale:
    return _babel_locale(language or translation.get_language() or settings.LANGUAGE_CODE)


@cache
def _babel_locale(language: str) -> Locale:
    """Django's language code ("en", "ko", "en-us") as Babel's locale; English if unknown."""
    try:
        return Locale.parse(translation.to_locale(language))
    except (ValueError, UnknownLocaleError):
        return Locale.parse("en")
