"""Markdown bodies: rendered to stored HTML, sanitised, with numbered sections; and diffs.

Figures named by placeholders are filled in before ``render`` (see ``publications.figures``),
so they pass through the same sanitiser as the rest of the text.
"""

import difflib
import html
import re
from dataclasses import dataclass
from typing import Any

import markdown as md
import nh3

ALLOWED_TAGS = {
    "a", "abbr", "blockquote", "br", "code", "em", "h2", "h3", "h4", "h5", "h6", "hr", "li",
    "ol", "p", "pre", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "h2": {"id"},
    "h3": {"id"},
    "h4": {"id"},
    "td": {"align"},
    "th": {"align", "scope"},
}
_SECTION = re.compile(r'<h([234]) id="(section-\d+)">(.*?)</h\1>', re.S)
_TAG = re.compile(r"<[^>]+>")


def _numbered_ids() -> Any:
    count = 0

    def slugify(value: str, separator: str) -> str:
        nonlocal count
        count += 1
        return f"section-{count}"

    return slugify


def render(text: str) -> str:
    """Markdown to safe HTML. Headings get ids ``section-1``, ``section-2``... in order.

    A heading written as ``#`` becomes ``<h2>``: the page's own title is the one ``<h1>``.
    """
    raw = md.markdown(
        text,
        extensions=["toc", "tables", "sane_lists"],
        extension_configs={"toc": {"slugify": _numbered_ids(), "baselevel": 2}},
        output_format="html",
    )
    return nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def plain(rendered: str) -> str:
    """The words of a rendered body, for search and snippets."""
    return html.unescape(_TAG.sub(" ", rendered)).strip()


def sections(rendered: str) -> list[tuple[str, str]]:
    """``(anchor, heading)`` of each numbered section of a rendered body."""
    return [(anchor, plain(title)) for _level, anchor, title in _SECTION.findall(rendered)]


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "same", "added" or "removed"
    text: str


def diff(old: str, new: str) -> list[DiffLine]:
    """Line-by-line difference between two Markdown sources, unchanged lines included."""
    a, b = old.splitlines(), new.splitlines()
    out: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out += [DiffLine("same", line) for line in a[i1:i2]]
            continue
        out += [DiffLine("removed", line) for line in a[i1:i2]]
        out += [DiffLine("added", line) for line in b[j1:j2]]
    return out


def with_section_links(rendered: str, link: Any, label: str) -> str:
    """Put a link after each section heading (``link(anchor)`` gives its address).

    ``rendered`` is already sanitised; the added markup is ours and its text is escaped.
    """

    def add(match: re.Match[str]) -> str:
        anchor = match.group(2)
        title = plain(match.group(3))
        text = html.escape(f"{label}: {title}")
        return (
            f'{match.group(0)}<p class="portal-section-link"><a class="usa-link" '
            f'href="{html.escape(link(anchor))}">{text}</a></p>'
        )

    return _SECTION.sub(add, rendered)
