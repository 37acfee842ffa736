import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

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
