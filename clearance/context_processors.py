from typing import Any

from django.conf import settings
from django.http import HttpRequest

from clearance.models import Notification


def portal(request: HttpRequest) -> dict[str, Any]:
    """Branding of the administration that runs the portal, the header's unread count, and
    whether payments go to the sandbox gateway (which moves no money: pages say so)."""
    user = getattr(request, "user", None)
    unread = 0
    if user is not None and user.is_authenticated:
        unread = Notification.objects.for_user(user).unread().count()
    return {
        "portal_name": settings.PORTAL_NAME,
        "portal_administration": settings.PORTAL_ADMINISTRATION,
        "portal_logo_url": settings.PORTAL_LOGO_URL,
        "portal_primary_colour": settings.PORTAL_PRIMARY_COLOUR,
        "unread_notifications": unread,
        "payment_sandbox": settings.PAYMENT_PROVIDER == "sandbox",
    }
