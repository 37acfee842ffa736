"""Who may reach what: the one place that answers it.

Staff pages need a staff role and a passed second factor (``staff_required``). Records are
found through ``found_or_404`` and, for records that belong to an organisation, ``owned_or_404``:
a seller or platform sees only its own organisations' records, and anything else is a 404, the
same answer as for a record that does not exist. Each app's ``access`` module names its records'
lookups on top of these.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from clearance.models import Organisation, Role, User

View = Callable[..., HttpResponse]


def organisations_of(user: User) -> list[int]:
    """The organisations the user belongs to (a seller's own, a platform's staff)."""
    return list(user.memberships.values_list("organisation_id", flat=True))


def is_officer(user: User) -> bool:
    """An officer or supervisor who passed the second factor in this session."""
    verified = getattr(user, "is_verified", None)
    return user.has_role(Role.OFFICER, Role.SUPERVISOR) and bool(verified and verified())


def found_or_404[M: Model](queryset: QuerySet[M], **lookup: Any) -> M:
    """The record ``lookup`` finds in ``queryset``, or 404."""
    found = queryset.filter(**lookup).first()
    if found is None:
        raise Http404
    return found


def owned_or_404[M: Model](
    queryset: QuerySet[M],
    pk: Any,
    *,
    user: User | None = None,
    organisation: Organisation | None = None,
    officers: bool = False,
) -> M:
    """A record of ``organisation`` (an API client's), or of one of ``user``'s organisations;
    any record for a verified officer when ``officers`` allows it; otherwise 404."""
    if organisation is not None:
        queryset = queryset.filter(organisation=organisation)
    elif user is None:
        raise Http404
    elif not (officers and is_officer(user)):
        queryset = queryset.filter(organisation_id__in=organisations_of(user))
    return found_or_404(queryset, pk=pk)


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
