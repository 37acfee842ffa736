import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

SIGNED_IN_AT = "signed_in_at"


class SessionTimeoutMiddleware:
    """Ends a session a fixed time after sign-in, however active it was.

    The idle timeout needs no code: SESSION_COOKIE_AGE with SESSION_SAVE_EVERY_REQUEST renews
    the session on each request, so it lapses after SESSION_IDLE_TIMEOUT without one.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if "_auth_user_id" in session:
            started = session.get(SIGNED_IN_AT)
            now = time.time()
            if started is None:
                session[SIGNED_IN_AT] = now
            elif now - float(started) > settings.SESSION_ABSOLUTE_TIMEOUT:
                logout(request)
        return self.get_response(request)
