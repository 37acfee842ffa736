"""The first second factor of a staff account: the password alone never sets one up.

A staff member without a confirmed device who signs in with the password is asked to have a
set-up link emailed to the account's address. The link works for an hour, only for the account
it was made for and only while that account is signed in in the browser that opens it, and only
until a device is confirmed. Opening it lets this session see the authenticator key (QR code)
of the account's unconfirmed device; the first correct code confirms it. Someone who has only
the password sees no key, and someone who has only the mailbox cannot sign in.

An administrator who replaces a lost device deletes the old one in the admin site; the staff
member then enrols again by email.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django_otp.plugins.otp_totp.models import TOTPDevice

from clearance.limits import may_email
from clearance.models import User
from clearance.queue import enqueue_on_commit

SALT = "clearance.enrolment"
MAX_AGE = 60 * 60
SESSION_KEY = "enrolment_device"


def unconfirmed_device(user: User) -> TOTPDevice:
    device, _created = TOTPDevice.objects.get_or_create(
        user=user, confirmed=False, defaults={"name": "Authenticator app"}
    )
    return device


def enrolment_link(user: User) -> str:
    """A set-up link for ``user`` (see the module's docstring)."""
    device = unconfirmed_device(user)
    token = signing.dumps({"u": user.pk, "d": device.pk}, salt=SALT)
    return settings.SITE_URL + reverse("two_factor_enrol", args=[token])


def enrolment_link_send(user: User) -> bool:
    """Queue the set-up link to the account's address; False when that mailbox has had its
    messages for the hour."""
    if not may_email(user.email):
        return False
    enqueue_on_commit("clearance.send_enrolment_email", user.pk)
    return True


def enrolling_device(request: HttpRequest, user: User) -> TOTPDevice | None:
    """The unconfirmed device this session opened a set-up link for, if any."""
    device_id = request.session.get(SESSION_KEY)
    if device_id is None:
        return None
    return TOTPDevice.objects.filter(pk=device_id, user=user, confirmed=False).first()


@never_cache
@login_required
def enrol(request: HttpRequest, token: str) -> HttpResponse:
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        data = {}
    user = request.user
    device = TOTPDevice.objects.filter(
        pk=data.get("d"), user_id=data.get("u"), confirmed=False
    ).first()
    if device is None or not isinstance(user, User) or device.user_id != user.pk:
        return render(request, "registration/enrol_failed.html", status=400)
    request.session[SESSION_KEY] = device.pk
    return redirect("two_factor")
