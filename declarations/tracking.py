"""Tracking for the consignee, without signing in (mounted at /track/).

A consignee gives the transport document number on the parcel and the last four characters of
the identification number they gave the seller for customs (``consignee_id_number``), and sees
the declaration's status and when each step happened: nothing else. No value, goods, parties,
filer's references, risk lane or score, officer notes or reasons, and not who moved it.

The choices made here:

- **One answer for "no".** An unknown transport document, a known one with the wrong four
  characters, a declaration without a consignee identification number, and one not yet filed
  (a draft) all get the same page, word for word, with the same status code (404). The page
  never repeats what was typed, so that answer does not depend on the input either. The page
  cannot be used to learn whether a parcel exists.
- **Several declarations with the same transport document** (a parcel declared again, or two
  filers using one number): the newest filed one (by submission time) whose consignee matches
  the four characters is shown; the others are never mentioned, counted or hinted at. At most
  the newest ``CANDIDATES`` declarations under one number are looked at.
- **No identification number, or one shorter than four characters**: such a declaration
  cannot be tracked this way, and gets the "no" answer.
- **Comparisons** ignore case and spaces: the number typed is compared with the stored one
  with both upper-cased and without spaces (every whitespace character is dropped from what is
  typed; spaces from what is stored). The four characters are compared with
  ``hmac.compare_digest``, and every candidate under the number is compared (no early exit), so
  the time taken depends on how many declarations share the number, not on which one matches.
- **Throttling.** Each lookup counts against the client's address, and against the transport
  document typed, in the current clock hour (the Django cache, as public comments are counted):
  ``TRACKING_ATTEMPTS_PER_HOUR`` per address (default 20) and
  ``TRACKING_ATTEMPTS_PER_DOCUMENT_PER_HOUR`` per number (default 30), so that many addresses
  together cannot try all four-character endings of one parcel either. Over a limit, the page
  says so with HTTP 429. Forms with a format error (say, three characters) are not counted:
  they reach no data. The counters are kept whether the parcel exists or not.
- **POST with CSRF**, so the identification characters land neither in URLs nor in server logs;
  the answer is rendered in place (not redirected), is never cached, and reloading it asks to
  send the form again.
"""

import datetime
import hmac
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.db.models import F, Value
from django.db.models.functions import Replace, Upper
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from clearance.errors import ServiceError
from clearance.limits import client_address, hourly_key, within_hourly_limit
from declarations.models import Declaration, Status, StatusChange

# The newest declarations looked at under one transport document.
CANDIDATES = 200
DOCUMENT_MAX_LENGTH = 50  # the model's transport_document


def normalised(text: str) -> str:
    """Upper case, every whitespace character dropped."""
    return "".join(text.split()).upper()


# --- The form ---------------------------------------------------------------------------------


class TrackForm(forms.Form):
    transport_document = forms.CharField(
        label=gettext_lazy("Transport document number"),
        max_length=100,
        error_messages={"required": gettext_lazy("Enter the transport document number.")},
        help_text=gettext_lazy(
            "The tracking number or air waybill number on the parcel or in the shipping message."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    id_last_four = forms.CharField(
        label=gettext_lazy("Last four characters of your identification number"),
        max_length=20,
        error_messages={
            "required": gettext_lazy(
                "Enter the last four characters of your identification number."
            )
        },
        help_text=gettext_lazy(
            "The identification number (such as a personal customs code) you gave the seller "
            "for customs: type its last four characters, for example 9012 for P123456789012."
        ),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
        ),
    )

    def clean_transport_document(self) -> str:
        document = normalised(self.cleaned_data["transport_document"])
        if not document:
            raise forms.ValidationError(_("Enter the transport document number."))
        if len(document) > DOCUMENT_MAX_LENGTH:
            raise forms.ValidationError(
                _("Use at most %(max)d characters (this has %(n)d).")
                % {"max": DOCUMENT_MAX_LENGTH, "n": len(document)}
            )
        return document

    def clean_id_last_four(self) -> str:
        four = normalised(self.cleaned_data["id_last_four"])
        if len(four) != 4:
            raise forms.ValidationError(
                _("Enter exactly four characters (this has %(n)d).") % {"n": len(four)}
            )
        return four


# --- Throttling -------------------------------------------------------------------------------


def attempt_key(kind: str, value: str) -> str:
    """The cache key counting ``kind`` ("address" or "document") attempts in this hour."""
    return hourly_key(f"declarations:track:{kind}", value)


def _count(kind: str, value: str, limit: int) -> bool:
    return within_hourly_limit(f"declarations:track:{kind}", value, limit)


def count_attempt(address: str, document: str) -> None:
    """Count a lookup from ``address`` for ``document``; refuse past either hourly limit."""
    if not _count("address", address, settings.TRACKING_ATTEMPTS_PER_HOUR):
        raise ServiceError(
            _("Too many tracking attempts from your address in the last hour. Try again later."),
            code="rate_limited",
        )
    if not _count("document", document, settings.TRACKING_ATTEMPTS_PER_DOCUMENT_PER_HOUR):
        raise ServiceError(
            _(
                "Too many tracking attempts for this transport document in the last hour. "
                "Try again later."
            ),
            field="transport_document",
            code="rate_limited",
        )


# --- The read-only query ----------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    label: str
    at: datetime.datetime


@dataclass(frozen=True)
class Tracking:
    """All the page shows of a declaration: its status and its steps, as words and times."""

    status: str
    steps: list[Step]


def _matching(document: str, four: str) -> tuple[int, str] | None:
    """The newest filed declaration under ``document`` whose consignee's identification number
    ends with ``four`` (both normalised), as (id, status); None otherwise."""
    candidates = list(
        Declaration.objects.filter(submitted_at__isnull=False)
        .exclude(consignee_id_number="")
        .alias(document=Upper(Replace(F("transport_document"), Value(" "), Value(""))))
        .filter(document=document)
        .order_by("-submitted_at", "-id")
        .values_list("pk", "status", "consignee_id_number")[:CANDIDATES]
    )
    wanted = four.encode()
    found: tuple[int, str] | None = None
    for pk, status, id_number in candidates:
        tail = normalised(id_number)[-4:].encode()
        # Every candidate is compared, in constant time, whatever matched before.
        if hmac.compare_digest(tail, wanted) and found is None:
            found = (pk, status)
    return found


def tracking_for(document: str, four: str) -> Tracking | None:
    """What the consignee may see of the declaration ``document`` and ``four`` name, or None.

    Steps are the status changes in order, without the draft the filer started from and without
    amendments that left the status where it was (the filer's business, not a step).
    """
    match = _matching(normalised(document), normalised(four))
    if match is None:
        return None
    pk, status = match
    changes = (
        StatusChange.objects.filter(declaration_id=pk)
        .exclude(to_status=Status.DRAFT)
        .exclude(to_status=F("from_status"))
        .order_by("at", "id")
        .values_list("to_status", "at")
    )
    return Tracking(
        status=str(Status(status).label),
        steps=[Step(label=str(Status(to).label), at=at) for to, at in changes],
    )


# --- The page ---------------------------------------------------------------------------------

TEMPLATE = "declarations/track.html"


@never_cache
@require_http_methods(["GET", "POST"])
def track(request: HttpRequest) -> HttpResponse:
    """Public: a parcel's status for its consignee (see the module's docstring)."""
    form = TrackForm(request.POST if request.method == "POST" else None)
    if not form.is_valid():
        return render(request, TEMPLATE, {"form": form})
    document = form.cleaned_data["transport_document"]
    blank = TrackForm()
    try:
        count_attempt(client_address(request), document)
    except ServiceError as error:
        return render(request, TEMPLATE, {"form": blank, "limited": error.message}, status=429)
    found = tracking_for(document, form.cleaned_data["id_last_four"])
    if found is None:
        return render(request, TEMPLATE, {"form": blank, "not_found": True}, status=404)
    context = {
        "form": blank,
        "tracking": found,
        "document": document,
        "zone": timezone.get_current_timezone_name(),
    }
    return render(request, TEMPLATE, context)


urlpatterns = [path("", track, name="track")]
