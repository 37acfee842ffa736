"""The API's changelog, and what is scheduled to go: one list a release edits beside the code.

A change to the API is a change to the code, so its record lives with the code and ships with
it: ``CHANGES`` is the public changelog (``/api/changelog/``), newest first, and
``DEPRECATIONS`` names the operations scheduled to go.

Version 1 settled on 2026-12-02, when its schema became the contract (the changes of that day
are listed). From then on, the promise to integrators, kept by ``check_deprecations`` (a system
check, so a release that breaks it does not start):

- a version path never breaks: fields and operations are added to ``/api/v1/``, never changed
  incompatibly or removed, except through a deprecation;
- a deprecation names the operation's successor in a newer version path, and is announced at
  least ``CONSULTATION_MIN_LEAD_DAYS`` before its sunset: the same lead time the administration
  gives traders before a new rule applies;
- from its announcement, every answer of the operation carries ``Deprecation`` (RFC 9745) and
  ``Sunset`` (RFC 8594) headers with a ``Link`` to the changelog and to the successor; after the
  sunset it answers 410 with the error envelope, naming the successor.

Nothing is scheduled to go today, so ``DEPRECATIONS`` is empty.
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from django.conf import settings
from django.core import checks
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clearance.api import envelope


@dataclass(frozen=True)
class Change:
    """One entry of the changelog: what integrators can rely on from ``day``."""

    day: date
    kind: str  # one of KINDS
    summary: str | Promise
    operations: tuple[str, ...] = ()


KINDS = {
    "added": gettext_lazy("Added"),
    "changed": gettext_lazy("Changed"),
    "fixed": gettext_lazy("Fixed"),
    "deprecated": gettext_lazy("Deprecated"),
    "removed": gettext_lazy("Removed"),
}


@dataclass(frozen=True)
class Deprecation:
    """An operation scheduled to go: ``method`` and ``route`` as in the URLconf
    (``api/v1/declarations/<int:pk>/``), announced in the changelog on ``announced``, deprecated
    from ``deprecated`` and gone after ``sunset`` (both UTC), replaced by ``successor`` (a path
    in a newer version)."""

    method: str
    route: str
    announced: date
    deprecated: datetime
    sunset: datetime
    successor: str

    @property
    def anchor(self) -> str:
        return "sunset-" + re.sub(r"[^a-z0-9]+", "-", f"{self.method} {self.route}".lower()).strip(
            "-"
        )

    @property
    def openapi_path(self) -> str:
        """The path as the OpenAPI schema writes it (``/api/v1/declarations/{id}/``)."""
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", "/" + self.route)
        return path.replace("{pk}", "{id}")


CHANGES: tuple[Change, ...] = (
    Change(
        date(2026, 12, 2),
        "added",
        gettext_lazy(
            "Webhooks: endpoints that subscribe to event types and receive each event signed "
            "by the Standard Webhooks specification, retried for about 24 hours, with a "
            "delivery log and redelivery."
        ),
        ("/api/v1/webhooks/",),
    ),
    Change(
        date(2026, 12, 2),
        "added",
        gettext_lazy(
            "This changelog, and Deprecation and Sunset headers on operations scheduled to go."
        ),
    ),
    Change(
        date(2026, 12, 2),
        "changed",
        gettext_lazy(
            "The schema is the contract: the server takes exactly what it describes. A request "
            "of the wrong shape gets 400 naming the field (a country or currency code not in "
            "capitals, a number where the schema says a string, an HS code with a dot, a "
            "boolean that is not true or false); a business rule refuses with 422. Every "
            "operation lists the error statuses it can answer, all in the one error envelope."
        ),
    ),
    Change(
        date(2026, 12, 2),
        "changed",
        gettext_lazy(
            "Refund requests and answers to information requests take multipart bodies only; "
            "documents download as application/octet-stream; the declaration list's cursors "
            "have a new form, and an older cursor gets 400: start again from the first page."
        ),
        (
            "POST /api/v1/refunds/",
            "POST /api/v1/declarations/{id}/information/",
            "GET /api/v1/declarations/",
        ),
    ),
    Change(
        date(2026, 12, 2),
        "fixed",
        gettext_lazy(
            "Payments, statements and refunds are described as the pages they are; an "
            "address no operation matches answers 404 in the error envelope."
        ),
    ),
    Change(
        date(2026, 12, 2),
        "added",
        gettext_lazy(
            "The event feed: every change a filer may see, in order, readable again from any "
            "cursor."
        ),
        ("GET /api/v1/events/",),
    ),
    Change(
        date(2026, 12, 2),
        "added",
        gettext_lazy(
            "Documents by API: upload a declaration's invoice or other document, list them and "
            "download them."
        ),
        (
            "POST /api/v1/declarations/{id}/documents/",
            "GET /api/v1/declarations/{id}/documents/",
            "GET /api/v1/declarations/{id}/documents/{doc_id}/",
        ),
    ),
    Change(
        date(2026, 12, 2),
        "changed",
        gettext_lazy(
            "Request bodies are JSON, except the operations that take files (multipart). Form "
            "encodings were offered by the schema but never meant: they now get 415."
        ),
    ),
    Change(
        date(2026, 11, 29),
        "added",
        gettext_lazy(
            "Version 1: declarations (create, change, submit, cancel, batches of up to 1,000, "
            "CSV files), HS code search, the duty estimate, payments, statements and refunds, "
            "and the published texts and consultations as open data."
        ),
    ),
)

DEPRECATIONS: tuple[Deprecation, ...] = ()


def _version(path: str) -> int | None:
    found = re.match(r"/?api/v(\d+)/", path)
    return int(found.group(1)) if found else None


def _routes(resolver: URLResolver, prefix: str = "") -> Iterator[str]:
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry, route)
        elif isinstance(entry, URLPattern):
            yield route


def deprecation_problems(deprecations: tuple[Deprecation, ...]) -> list[str]:
    """What breaks the promise in the module's docstring, one sentence each."""
    problems = []
    routes = set(_routes(get_resolver()))
    lead = timedelta(days=settings.CONSULTATION_MIN_LEAD_DAYS)
    for d in deprecations:
        name = f"{d.method} /{d.route}"
        if d.route not in routes:
            problems.append(f"{name}: no such route.")
        if d.sunset.date() - d.announced < lead:
            problems.append(
                f"{name}: the sunset must come at least CONSULTATION_MIN_LEAD_DAYS "
                f"({lead.days}) after the announcement."
            )
        if not d.announced <= d.deprecated.date() <= d.sunset.date():
            problems.append(f"{name}: announced, deprecated and sunset must come in that order.")
        old, new = _version(d.route), _version(d.successor)
        if old is None or new is None or new <= old:
            problems.append(f"{name}: the successor must be in a newer version path.")
    return problems


@checks.register(checks.Tags.urls)
def check_deprecations(**kwargs: Any) -> list[checks.CheckMessage]:
    return [checks.Error(p, id="clearance.E020") for p in deprecation_problems(DEPRECATIONS)]


def deprecation_for(request: HttpRequest) -> Deprecation | None:
    match = request.resolver_match
    if match is None:
        return None
    for d in DEPRECATIONS:
        if d.route == match.route and d.method == request.method:
            return d
    return None


class DeprecationMiddleware:
    """Marks the answers of deprecated operations, and answers 410 after their sunset."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        deprecation = deprecation_for(request)
        if deprecation is not None:
            changelog = request.build_absolute_uri(reverse("api_changelog"))
            response["Deprecation"] = f"@{int(deprecation.deprecated.timestamp())}"
            response["Sunset"] = format_datetime(deprecation.sunset.astimezone(UTC), usegmt=True)
            response["Link"] = (
                f'<{changelog}#{deprecation.anchor}>; rel="deprecation"; type="text/html", '
                f'<{changelog}#{deprecation.anchor}>; rel="sunset"; type="text/html", '
                f'<{request.build_absolute_uri(deprecation.successor)}>; rel="successor-version"'
            )
        return response

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        deprecation = deprecation_for(request)
        if deprecation is None or timezone.now() < deprecation.sunset:
            return None
        message = _("This operation was withdrawn on %(day)s; use %(successor)s.") % {
            "day": deprecation.sunset.date().isoformat(),
            "successor": deprecation.successor,
        }
        return JsonResponse(envelope("gone", message), status=410)


def mark_deprecated(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A drf-spectacular postprocessing hook: deprecated operations say so in the schema."""
    for d in DEPRECATIONS:
        operation = result.get("paths", {}).get(d.openapi_path, {}).get(d.method.lower())
        if operation is not None:
            operation["deprecated"] = True
            operation["description"] = (
                operation.get("description", "")
                + f"\n\nDeprecated; withdrawn after {d.sunset.isoformat()}. Use {d.successor}."
            ).strip()
    return result


def changelog(request: HttpRequest) -> HttpResponse:
    """The public changelog: what changed, by day, and what is scheduled to go."""
    days: dict[date, list[Change]] = {}
    for change in sorted(CHANGES, key=lambda c: c.day, reverse=True):
        days.setdefault(change.day, []).append(change)
    return render(
        request,
        "clearance/api_changelog.html",
        {
            "days": [(day, [(KINDS[c.kind], c) for c in entries]) for day, entries in days.items()],
            "deprecations": DEPRECATIONS,
            "lead_days": settings.CONSULTATION_MIN_LEAD_DAYS,
        },
    )
