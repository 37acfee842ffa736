import contextvars
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from clearance.uploads import megabytes

SIGNED_IN_AT = "signed_in_at"
LAST_SEEN_AT = "last_seen_at"


class SessionTimeoutMiddleware:
    """Ends a signed-in session after SESSION_IDLE_TIMEOUT seconds without a request, and
    SESSION_ABSOLUTE_TIMEOUT seconds after sign-in however active it was.

    Both are checked here against the session's own timestamps rather than left to the
    session store's expiry, so they hold whichever store is configured.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if "_auth_user_id" in session:
            now = time.time()
            started = float(session.setdefault(SIGNED_IN_AT, now))
            last_seen = float(session.get(LAST_SEEN_AT, now))
            if (
                now - started > settings.SESSION_ABSOLUTE_TIMEOUT
                or now - last_seen > settings.SESSION_IDLE_TIMEOUT
            ):
                logout(request)
            else:
                session[LAST_SEEN_AT] = now
        return self.get_response(request)


correlation_id: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="-")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class CorrelationIdMiddleware:
    """Gives each request a correlation id: the client's ``X-Correlation-ID`` when it is a
    plausible id, or a new one. It is echoed in the response and written on every log line
    of the request (``CorrelationIdFilter``), so a platform's support ticket finds our logs.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Correlation-ID", "")
        value = given if _CLIENT_ID.match(given) else uuid.uuid4().hex
        # Not reset on the way out: Django logs a 4xx/5xx response after the middleware chain
        # has returned, and that line must carry the id too. The next request sets its own.
        correlation_id.set(value)
        response = self.get_response(request)
        response["X-Correlation-ID"] = value
        return response


def install_correlation_id_on_log_records() -> None:
    """Every log record made from now on carries ``correlation_id`` (``-`` outside requests),
    whichever handler later formats it."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "adds_correlation_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.correlation_id = correlation_id.get()
        return record

    factory.adds_correlation_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


class RequestSizeLimitMiddleware:
    """Refuses a request whose body is larger than ``REQUEST_MAX_BYTES`` (413) from its
    ``Content-Length``, before anything reads the body: an upload too large for every limit is
    not received whole first. Each upload's own limit is checked after, by its service."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length <= settings.REQUEST_MAX_BYTES:
            return self.get_response(request)
        message = _("The request is larger than %(mb)s MB.") % {
            "mb": megabytes(settings.REQUEST_MAX_BYTES)
        }
        if request.path.startswith("/api/"):
            body = {"code": "too_large", "message": message, "errors": []}
            return JsonResponse(body, status=413)
        return render(request, "too_large.html", {"message": message}, status=413)
