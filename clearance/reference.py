"""Reference data shipped in ``clearance/data``: HS 2022, ISO 3166 countries, ISO 4217 currencies.

Loaded once per process and kept in memory (a few hundred kilobytes); lookups are dictionary
reads, so validation of a 999-line declaration costs nothing noticeable.
"""

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@dataclass(frozen=True)
class HSEntry:
    code: str
    description: str
    level: int  # 2 chapter, 4 heading, 6 subheading
    parent: str


@cache
def hs_entries() -> dict[str, HSEntry]:
    entries = {}
    for row in _rows("hs2022.csv"):
        code = row["hscode"]
        if not code.isdigit() or code.strip("9") == "":
            continue  # the TOTAL row and the "not specified" 99/9999/999999 rows
        entries[code] = HSEntry(code, row["description"], int(row["level"]), row["parent"])
    return entries


def hs_exists(code: str) -> bool:
    """True for a 6-digit HS 2022 subheading."""
    entry = hs_entries().get(code)
    return entry is not None and entry.level == 6


def hs_description(code: str) -> str:
    entry = hs_entries().get(code)
    return entry.description if entry else ""


_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def _words(text: str) -> set[str]:
    """Stemmed words of a text; "t-shirts" gives "tshirt" as well as "shirt"."""
    words = set()
    for token in _WORD.findall(text.lower()):
        parts = token.split("-")
        candidates = [*parts, "".join(parts)] if len(parts) > 1 else parts
        words |= {_stem(w) for w in candidates if len(w) > 1}
    return words


def _stem(word: str) -> str:
    # Enough stemming for goods descriptions: "headphones" and "headphone" meet.
    for suffix in ("ies", "es", "s"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


@cache
def _hs_index() -> list[tuple[str, frozenset[str], frozenset[str], frozenset[str]]]:
    """Per subheading: its own words, its heading's and chapter's, and its leading words."""
    entries = hs_entries()
    index = []
    for entry in entries.values():
        if entry.level != 6:
            continue
        own = frozenset(_words(entry.description))
        context: set[str] = set()
        parent = entries.get(entry.parent)
        while parent is not None:
            context |= _words(parent.description)
            parent = entries.get(parent.parent)
        lead = _words(entry.description.split(";")[0].split(",")[0])
        index.append((entry.code, own, frozenset(context), frozenset(lead)))
    return index


def hs_search(query: str, limit: int = 20) -> list[HSEntry]:
    """Subheadings ranked by how many of the query's words they (or their heading) contain.

    Words the nomenclature does not use ("bluetooth") simply match nothing, so "bluetooth
    headphones" still finds 851830 by "headphones". A code prefix ("8518") lists that heading.
    """
    query = query.strip().lower()
    entries = hs_entries()
    if query.isdigit():
        return [e for c, e in entries.items() if e.level == 6 and c.startswith(query)][:limit]
    words = _words(query)
    if not words:
        return []
    scored = []
    for code, own, context, lead in _hs_index():
        own_hits = len(words & own)
        # The goods a subheading is about come first in its text ("Headphones and earphones"),
        # so a word found there counts for more than one in a list of parts or accessories.
        hits = own_hits + 0.5 * len(words & lead) + 0.25 * len((words - own) & context)
        if own_hits:
            scored.append((-hits, len(own), code))
    scored.sort()
    return [entries[code] for _score, _size, code in scored[:limit]]


@cache
def countries() -> dict[str, str]:
    """ISO 3166-1 alpha-2 code to English name."""
    return {row["alpha2"]: row["name"] for row in _rows("countries.csv")}


def country_exists(code: str) -> bool:
    return code in countries()


@cache
def currencies() -> dict[str, int]:
    """Current ISO 4217 alphabetic code to its number of minor units (decimals)."""
    result = {}
    for row in _rows("currencies.csv"):
        code, minor = row["AlphabeticCode"], row["MinorUnit"]
        if code and not row["WithdrawalDate"] and minor.isdigit():
            result[code] = int(minor)
    return result


def currency_exists(code: str) -> bool:
    return code in currencies()


def currency_decimals(code: str) -> int:
    """Decimals of a currency's minor unit (KRW 0, USD 2, KWD 3)."""
    return currencies()[code]
