"""The filing rules, in one place, for the browser, the API and CSV files alike.

Input is a declaration in the API's shape (``seller{name,address,country}``,
``lines[{description,hs_code,...}]``). The output is the cleaned values under the model's
field names, and a list of errors that each name the field as a path (``lines[2].hs_code``)
and say the rule in words.

A draft may be incomplete: with ``complete=False`` missing values are allowed, but whatever is
given must still be right. Submitting checks with ``complete=True``.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clearance import reference
from clearance.errors import FieldError, Invalid
from clearance.models import Purpose, TransportMode

MAX_LINES = 999
# A declaration's own fields (its header) under the model's names, in the order the form, the
# CSV file and the API show them. The API nests the parties' fields (``seller_name`` is
# ``seller.name``: see ``header_data``).
HEADER_FIELDS = (
    "reference",
    "transport_mode",
    "transport_document",
    "carrier",
    "marketplace",
    "order_reference",
    "purpose",
    "seller_name",
    "seller_address",
    "seller_country",
    "consignee_name",
    "consignee_address",
    "consignee_country",
    "consignee_id_number",
    "arrival_office",
    "currency",
    "shipping_cost",
    "insurance_cost",
    "tax_collected_at_sale",
    "vendor_tax_id",
)
PARTIES = ("seller", "consignee")
# The header's amounts, in the declaration's currency.
HEADER_MONEY = ("shipping_cost", "insurance_cost")
# The fields of an item line, in the order the form, the CSV file and the API show them.
LINE_FIELDS = (
    "description",
    "hs_code",
    "quantity",
    "unit",
    "value",
    "origin_country",
    "gross_mass_kg",
    "product_url",
)

# Descriptions that say nothing about the goods, after the EU's guidance on acceptable goods
# descriptions: a description made only of these words is refused.
VAGUE_WORDS = frozenset(
    [
        "gift",
        "gifts",
        "present",
        "presents",
        "goods",
        "good",
        "sample",
        "samples",
        "part",
        "parts",
        "spare",
        "spares",
        "accessory",
        "accessories",
        "clothes",
        "clothing",
        "apparel",
        "garment",
        "garments",
        "item",
        "items",
        "merchandise",
        "stuff",
        "product",
        "products",
        "thing",
        "things",
        "article",
        "articles",
        "misc",
        "miscellaneous",
        "various",
        "assorted",
        "general",
        "other",
        "others",
        "personal",
        "effects",
        "belongings",
        "equipment",
        "tools",
        "tool",
        "electronic",
        "electronics",
        "parcel",
        "package",
        "packages",
        "commodity",
        "commodities",
        "unknown",
        "na",
        "none",
        "set",
        "kit",
    ]
)
FILLER_WORDS = frozenset(
    ["a", "an", "the", "some", "of", "and", "for", "my", "new", "used", "etc", "free"]
)
_DESCRIPTION_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def is_vague(description: str) -> bool:
    words = [w.lower() for w in _DESCRIPTION_WORD.findall(description)]
    meaningful = [w for w in words if w not in FILLER_WORDS]
    return not meaningful or all(w in VAGUE_WORDS for w in meaningful)


def header_data(values: Mapping[str, Any]) -> dict[str, Any]:
    """A declaration's header in the API's shape, from values under the model's field names
    (a form's, a CSV row's, the model's own); a missing value is empty."""
    data: dict[str, Any] = {}
    for name in HEADER_FIELDS:
        party, _sep, key = name.partition("_")
        if party in PARTIES:
            data.setdefault(party, {})[key] = values.get(name, "")
        else:
            data[name] = values.get(name, "")
    return data


def duplicate_reference(reference: str | None = None) -> FieldError:
    """A reference the organisation has used already; with none named, one of a batch's that
    another request took meanwhile (the unique constraint caught it)."""
    if reference is None:
        message = _("One of these references was just used by another request.")
    else:
        message = _("Your organisation already has a declaration with reference %(ref)s.") % {
            "ref": reference
        }
    return FieldError("reference", "duplicate", message)


@dataclass
class Cleaned:
    header: dict[str, Any] = field(default_factory=dict)
    lines: list[dict[str, Any]] = field(default_factory=list)


HEADER_TEXT = {
    # API name: (model field, max length, required on submit)
    "reference": ("reference", 35, True),
    "transport_document": ("transport_document", 50, True),
    "carrier": ("carrier", 100, False),
    "marketplace": ("marketplace", 100, False),
    "order_reference": ("order_reference", 50, False),
    "arrival_office": ("arrival_office", 50, False),
    "vendor_tax_id": ("vendor_tax_id", 50, False),
}
PARTY_TEXT = {
    "seller": {"name": 200, "address": 300},
    "consignee": {"name": 200, "address": 300, "id_number": 50},
}
LINE_TEXT = {"description": 300, "unit": 10, "product_url": 500}


class _Checker:
    def __init__(self, complete: bool) -> None:
        self.complete = complete
        self.errors: list[FieldError] = []

    def error(self, path: str, code: str, message: str) -> None:
        self.errors.append(FieldError(path, code, message))

    def text(
        self, value: Any, path: str, max_length: int, required: bool, always: bool = False
    ) -> str:
        """``always``: required even in a draft."""
        if value is None:
            value = ""
        if not isinstance(value, str):
            self.error(path, "invalid", _("Enter text."))
            return ""
        value = value.strip()
        if not value and required and (self.complete or always):
            self.error(path, "required", _("This field is required."))
        elif "\x00" in value:  # PostgreSQL stores no NUL in text
            self.error(path, "nul_character", _("Remove the NUL character; text cannot hold it."))
            return ""
        elif len(value) > max_length:
            self.error(
                path,
                "max_length",
                _("Use at most %(max)d characters (this has %(n)d).")
                % {"max": max_length, "n": len(value)},
            )
        return str(value)

    def choice(self, value: Any, path: str, choices: list[str], required: bool) -> str:
        value = value.strip().lower() if isinstance(value, str) else value
        if value in (None, ""):
            if required and self.complete:
                self.error(path, "required", _("This field is required."))
            return ""
        if value not in choices:
            self.error(
                path,
                "invalid_choice",
                _("Choose one of: %(choices)s.") % {"choices": ", ".join(choices)},
            )
            return ""
        return str(value)

    def country(self, value: Any, path: str, required: bool) -> str:
        value = value.strip().upper() if isinstance(value, str) else value
        if value in (None, ""):
            if required and self.complete:
                self.error(path, "required", _("This field is required."))
            return ""
        if not isinstance(value, str) or not reference.country_exists(value):
            self.error(
                path,
                "invalid_country",
                _("Use a two-letter ISO 3166 country code, such as KR or US."),
            )
            return ""
        return value

    def decimal(
        self,
        value: Any,
        path: str,
        *,
        places: int | None,
        required: bool,
        positive: bool = True,
        places_rule: str = "",
    ) -> Decimal | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            if required and self.complete:
                self.error(path, "required", _("This field is required."))
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
            self.error(path, "invalid", _("Enter a number."))
            return None
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            self.error(path, "invalid", _("Enter a number."))
            return None
        if not number.is_finite():
            self.error(path, "invalid", _("Enter a number."))
            return None
        if positive and number <= 0:
            self.error(path, "not_positive", _("Enter a number greater than zero."))
            return None
        if not positive and number < 0:
            self.error(path, "negative", _("Enter zero or a positive number."))
            return None
        if number >= Decimal(10) ** 12:
            self.error(path, "too_large", _("This number is too large."))
            return None
        exponent = number.normalize().as_tuple().exponent
        decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        if places is not None and decimals > places:
            self.error(
                path,
                "decimal_places",
                places_rule or _("Use at most %(n)d decimal places.") % {"n": places},
            )
            return None
        return number


# What the API says above a declaration's list of errors.
SUMMARY = gettext_lazy("The declaration has errors; see errors.")


def clean(data: Any, *, complete: bool) -> Cleaned:
    """Check a declaration; return its cleaned values or raise ``Invalid`` with every error."""
    cleaned, errors = check(data, complete=complete)
    if errors:
        raise Invalid(errors, summary=SUMMARY)
    return cleaned


def check(data: Any, *, complete: bool) -> tuple[Cleaned, list[FieldError]]:
    """Like ``clean``, but return the errors instead of raising (for previews)."""
    c = _Checker(complete)
    out = Cleaned()
    if not isinstance(data, Mapping):
        c.error("", "invalid", _("Send a declaration as an object."))
        return out, c.errors
    h = out.header
    for name, (model_field, max_length, required) in HEADER_TEXT.items():
        h[model_field] = c.text(
            data.get(name), name, max_length, required, always=name == "reference"
        )
    h["transport_mode"] = c.choice(
        data.get("transport_mode"), "transport_mode", TransportMode.values, True
    )
    h["purpose"] = c.choice(data.get("purpose"), "purpose", Purpose.values, True)
    for party, texts in PARTY_TEXT.items():
        h.update(_party(c, data.get(party), party, texts))
    h["currency"], places = _currency(c, data.get("currency"))
    money_rule = (
        _("%(currency)s amounts have at most %(n)d decimal places.")
        % {"currency": h["currency"], "n": places}
        if places is not None
        else ""
    )
    for name in HEADER_MONEY:
        h[name] = c.decimal(
            data.get(name),
            name,
            places=places,
            required=False,
            positive=False,
            places_rule=money_rule,
        ) or Decimal(0)
    h["tax_collected_at_sale"] = _tax_collected(c, data.get("tax_collected_at_sale", False))
    if h["tax_collected_at_sale"] and complete and not h["vendor_tax_id"]:
        c.error(
            "vendor_tax_id",
            "required",
            _("Give the vendor's tax registration number when tax was collected at sale."),
        )
    for index, line in enumerate(_lines(c, data.get("lines"))):
        out.lines.append(_line(c, line, f"lines[{index}]", index + 1, places, money_rule))
    return out, c.errors


def _party(c: _Checker, given: Any, party: str, texts: Mapping[str, int]) -> dict[str, str]:
    """A party's fields under the model's names (``seller_name``)."""
    given = given or {}
    if not isinstance(given, Mapping):
        c.error(party, "invalid", _("Send the %(party)s as an object.") % {"party": party})
        given = {}
    found = {
        f"{party}_{name}": c.text(
            given.get(name), f"{party}.{name}", max_length, name != "id_number"
        )
        for name, max_length in texts.items()
    }
    found[f"{party}_country"] = c.country(given.get("country"), f"{party}.country", True)
    return found


def _currency(c: _Checker, currency: Any) -> tuple[str, int | None]:
    """The currency's code, and its decimal places (None when there is no valid code)."""
    currency = currency.strip().upper() if isinstance(currency, str) else currency
    if currency in (None, ""):
        if c.complete:
            c.error("currency", "required", _("This field is required."))
        return "", None
    if not isinstance(currency, str) or not reference.currency_exists(currency):
        c.error(
            "currency",
            "invalid_currency",
            _("Use a three-letter ISO 4217 currency code, such as USD or KRW."),
        )
        return "", None
    return currency, reference.currency_decimals(currency)


def _tax_collected(c: _Checker, collected: Any) -> bool:
    if isinstance(collected, str):
        collected = collected.strip().lower() in ("true", "yes", "1", "on")
    if not isinstance(collected, bool):
        c.error("tax_collected_at_sale", "invalid", _("Send true or false."))
        return False
    return collected


def _lines(c: _Checker, given: Any) -> list[Any]:
    """The item lines to check: none unless they are a list of at most ``MAX_LINES``."""
    lines: list[Any] = []
    if isinstance(given, list):
        lines = given
    elif given:
        c.error("lines", "invalid", _("Send the item lines as a list."))
    if c.complete and not lines:
        c.error("lines", "required", _("Add at least one item line."))
    if len(lines) > MAX_LINES:
        c.error(
            "lines",
            "too_many",
            _("A declaration has at most %(max)d item lines (this has %(n)d).")
            % {"max": MAX_LINES, "n": len(lines)},
        )
        return []
    return lines


def _line(
    c: _Checker,
    line: Any,
    path: str,
    number: int,
    places: int | None,
    money_rule: str,
) -> dict[str, Any]:
    if not isinstance(line, Mapping):
        c.error(path, "invalid", _("Send an item line as an object."))
        return {"number": number}
    description = c.text(
        line.get("description"), f"{path}.description", LINE_TEXT["description"], True
    )
    if description and is_vague(description):
        c.error(
            f"{path}.description",
            "vague",
            _(
                "Say what the goods are, such as “women's cotton T-shirts”: "
                "“%(text)s” alone does not describe them."
            )
            % {"text": description},
        )
    hs_code = line.get("hs_code")
    hs_code = str(hs_code).strip().replace(".", "") if hs_code not in (None, "") else ""
    if not hs_code:
        if c.complete:
            c.error(f"{path}.hs_code", "required", _("This field is required."))
    elif not (len(hs_code) == 6 and hs_code.isdigit()):
        c.error(f"{path}.hs_code", "invalid_hs_code", _("An HS code has exactly 6 digits."))
        hs_code = ""
    elif not reference.hs_exists(hs_code):
        c.error(
            f"{path}.hs_code",
            "unknown_hs_code",
            _("%(code)s is not a subheading of the HS 2022 nomenclature.") % {"code": hs_code},
        )
        hs_code = ""
    unit = c.text(line.get("unit"), f"{path}.unit", LINE_TEXT["unit"], False) or "pcs"
    product_url = c.text(
        line.get("product_url"), f"{path}.product_url", LINE_TEXT["product_url"], False
    )
    if product_url:
        parts = urlsplit(product_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            c.error(f"{path}.product_url", "invalid_url", _("Enter a web address (http or https)."))
            product_url = ""
    return {
        "number": number,
        "description": description,
        "hs_code": hs_code,
        "quantity": c.decimal(line.get("quantity"), f"{path}.quantity", places=3, required=True),
        "unit": unit,
        "value": c.decimal(
            line.get("value"), f"{path}.value", places=places, required=True, places_rule=money_rule
        ),
        "origin_country": c.country(line.get("origin_country"), f"{path}.origin_country", True),
        "gross_mass_kg": c.decimal(
            line.get("gross_mass_kg"), f"{path}.gross_mass_kg", places=3, required=True
        ),
        "product_url": product_url,
    }
