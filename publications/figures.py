"""Figures that the texts state and the portal also enforces, written once.

An editor does not copy a number the code enforces into a text; the Markdown source names it,
``Refunds are paid within {{ returns_period_days }} days of release``, and the portal fills it
in. Only the names below exist: a placeholder is a lookup in a fixed table, never template
code, and the filled source still goes through ``publications.markdown.render`` and its nh3
sanitiser. An unknown name is refused when the version is saved.

``returns_period_days``
    ``settings.REFUND_RETURN_PERIOD_DAYS``: returned goods are refunded within this many days
    of release.
``statement_payment_days``
    ``settings.STATEMENT_PAYMENT_DAYS``: a monthly statement is due this many days after it is
    issued.
``threshold``, ``tax_threshold``
    The duty-free and tax-free limits of the ``settings.PORTAL_ECONOMY`` regime, with their
    currency ("150.00 USD").
``threshold_us``, ``tax_threshold_us`` (any ISO 3166 code after ``threshold_``)
    The limits for goods from that economy: those of the regime's first override that names
    it (KR: 200.00 USD for goods shipped from the United States), else the regime's own.

Thresholds are effective-dated: a version states the limits of the regime in force on its
effective date (a draft without one, today's), so an old version shows what applied then.
Settings are not dated: every version, old or current, states the value set now.

When they are filled in: when a version is rendered into its stored ``body_html`` and
``plain_text`` (on saving a draft, and again on publishing, when the effective date is
fixed), and the search vector is built from that text. The pages, the consultation page, the
diff and the open-data API read those fields, or the source filled with the same stored
``Version.figures``, so the page, the API and the search index and its snippets state one
number. Filling in at display time instead would leave the index, which PostgreSQL builds and
searches, with another number or none.

Stored figures go out of date when a deployment changes a setting or an administrator changes
a regime. ``publishing.versions_refresh_figures`` compares each version's stored figures with
what the settings and regimes give now, and renders again only those that differ. It runs as
the ``publications.refresh_figures`` task, for beat (a regime changes at any time), and as
``manage.py refresh_publication_figures``, to run after a deployment that changes a setting.
"""

import re
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from clearance.errors import ServiceError
from clearance.models import Regime
from clearance.money import format_money
from clearance.reference import countries
from clearance.regime_rules import regime_in_force, rules_of

# Settings the texts may state, by placeholder name.
SETTINGS: dict[str, str] = {
    "returns_period_days": "REFUND_RETURN_PERIOD_DAYS",
    "statement_payment_days": "STATEMENT_PAYMENT_DAYS",
}
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.S)
_THRESHOLD = re.compile(r"(?P<tax>tax_)?threshold(?:_(?P<origin>[a-z]{2}))?")
KNOWN = (
    "returns_period_days, statement_payment_days, threshold, tax_threshold, "
    "threshold_us, tax_threshold_us"
)


def names_in(text: str) -> list[str]:
    """The figures ``text`` names, in order of first use; refuses an unknown one."""
    names: list[str] = []
    for match in _PLACEHOLDER.finditer(text):
        name = match.group(1).strip()
        if not _known(name):
            raise ServiceError(
                _(
                    "{{ %(name)s }} is not a figure the portal knows. Use one of: "
                    "%(known)s (any country code may follow threshold_)."
                )
                % {"name": name[:60], "known": KNOWN},
                field="body",
                code="unknown_placeholder",
            )
        if name not in names:
            names.append(name)
    if "{{" in _PLACEHOLDER.sub("", text):
        raise ServiceError(
            _(
                "The text has “{{” without a closing “}}”; write a figure as "
                "{{ returns_period_days }}."
            ),
            field="body",
            code="unclosed_placeholder",
        )
    return names


def has_placeholder(text: str) -> bool:
    return _PLACEHOLDER.search(text) is not None


def _known(name: str) -> bool:
    if name in SETTINGS:
        return True
    match = _THRESHOLD.fullmatch(name)
    return match is not None and (match["origin"] is None or match["origin"].upper() in countries())


def values(names: list[str], *, on: date, language: str) -> dict[str, str]:
    """The text of each named figure, for a version in ``language`` that applies from ``on``.

    Thresholds come from the regime in force on ``on``. Settings are not dated: they give the
    value set now, whatever ``on`` is.
    """
    out: dict[str, str] = {}
    regime: Regime | None = None
    looked_up = False
    with translation.override(language):
        for name in names:
            setting = SETTINGS.get(name)
            if setting is not None:
                out[name] = str(getattr(settings, setting))
                continue
            if not looked_up:
                regime = regime_in_force(settings.PORTAL_ECONOMY, on)
                looked_up = True
            out[name] = _threshold(name, regime, language)
    return out


def _threshold(name: str, regime: Regime | None, language: str) -> str:
    match = _THRESHOLD.fullmatch(name)
    assert match is not None  # names_in accepted it
    if regime is None:
        return _("(no low-value regime in force)")
    rules = rules_of(regime)
    duty, tax = rules.duty_free_up_to, rules.tax_free_up_to
    origin = (match["origin"] or "").upper()
    if origin:
        for override in rules.overrides:
            if origin in override.origins:
                duty, tax = override.duty_free_up_to, override.tax_free_up_to
                break
    limit: Decimal | None = tax if match["tax"] else duty
    if limit is None:
        return _("no limit")
    return format_money(limit, rules.threshold_currency, language)


def fill(text: str, figures: dict[str, str]) -> str:
    """``text`` with each placeholder replaced by its figure (one ``values`` gave)."""
    return _PLACEHOLDER.sub(lambda m: figures.get(m.group(1).strip(), m.group(0)), text)
