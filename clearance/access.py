"""Who may reach what: the one place that answers it for staff pages."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from clearance.models import Role

View = Callable[..., HttpResponse]


def staff_required(*roles: str) -> Callable[[View], View]:
    """Staff pages: a staff role (any of ``roles``, or any staff role) and a verified second factor.

    A signed-in user without the role gets 404, as for a page that does not exist; staff who
    have not yet passed the second factor in this session are sent to do so.
    """
    wanted = roles or tuple(Role.values)

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user.has_role(*wanted):
                raise Http404
            # OTPMiddleware gives every user is_verified(): true once a device passed.
            if not user.is_verified():  # type: ignore[union-attr,attr-defined,unused-ignore]
                return redirect(
                    reverse("two_factor") + "?" + urlencode({"next": request.get_full_path()})
                )
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
