import base64
from typing import Any

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from clearance import enrolment, health, services
from clearance.access import staff_required
from clearance.api import envelope
from clearance.errors import ServiceError
from clearance.exchange_rates import newest_rates
from clearance.forms import OneTimeCodeForm, RegistrationForm
from clearance.models import Notification, User


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The 404 of every address: the error envelope in JSON under /api/ (an address no API
    route matches), the page otherwise."""
    if request.path.startswith("/api/"):
        return JsonResponse(envelope("not_found", _("Not found.")), status=404)
    return defaults.page_not_found(request, exception)


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "clearance/home.html")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    healthy, body = health.status()
    return JsonResponse(body, status=200 if healthy else 503)


def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.seller_register(
                email=data["email"],
                password=data["password1"],
                full_name=data["full_name"],
                organisation_name=data["organisation_name"],
                language=data["language"],
            )
        except ServiceError as error:
            form.add_error(error.field, error.message)
        else:
            return render(request, "registration/register_done.html", {"email": data["email"]})
    return render(request, "registration/register.html", {"form": form})


def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    try:
        services.user_verify_email(token=token)
    except ServiceError as error:
        return render(request, "registration/verify_failed.html", {"error": error}, status=400)
    messages.success(request, _("Your email address is confirmed. You can now sign in."))
    return redirect("login")


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if user.is_staff_member:
        return redirect("staff_home")
    memberships = user.memberships.select_related("organisation").order_by("organisation__name")
    recent = Notification.objects.for_user(user)[:5]
    return render(
        request, "clearance/dashboard.html", {"memberships": memberships, "recent": recent}
    )


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    page = Paginator(Notification.objects.for_user(user), 25).get_page(request.GET.get("page"))
    return render(request, "clearance/notifications.html", {"page": page})


@login_required
@require_POST
def notifications_mark_read(request: HttpRequest) -> HttpResponse:
    raw = request.POST.get("notification")
    notification_id = int(raw) if raw and raw.isdigit() else None
    services.notification_mark_read(user=_user(request), notification_id=notification_id)
    return redirect("notifications")


@staff_required()
def staff_home(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    return render(
        request,
        "clearance/staff_home.html",
        {
            "roles": sorted(user.role_names),
            "rates": newest_rates(timezone.localdate()),
        },
    )


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


@never_cache
@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """Pass the second factor, or set one up when the account has none yet.

    Setting up creates an unconfirmed TOTP device; the first correct code confirms it and
    shows ten backup codes once.
    """
    user = _user(request)
    next_url = _safe_next(request, reverse("staff_home"))
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    form = OneTimeCodeForm(request.POST or None)
    context: dict[str, Any] = {"form": form, "next": next_url}
    if not confirmed:
        device = enrolment.enrolling_device(request, user)
        if device is None:  # the password alone: a set-up link goes to the account's address
            if request.method == "POST":
                context["sent"] = enrolment.enrolment_link_send(user)
                context["limited"] = not context["sent"]
            return render(request, "registration/enrol_by_email.html", context)
        context["setup"] = True
        context["secret"] = device.bin_key.hex()
        context["secret_b32"] = _b32(device.bin_key)
        context["qr_svg"] = segno.make(device.config_url, error="m").svg_inline(scale=4)
        if request.method == "POST" and form.is_valid():
            if device.verify_token(form.cleaned_data["token"].strip()):
                with transaction.atomic():
                    device.confirmed = True
                    device.save(update_fields=["confirmed"])
                    codes = services.backup_codes_reset(user=user)
                request.session.pop(enrolment.SESSION_KEY, None)
                otp_login(request, device)
                return render(
                    request, "registration/backup_codes.html", {"codes": codes, "next": next_url}
                )
            form.add_error("token", _("That code is not right. Codes change every 30 seconds."))
        return render(request, "registration/two_factor.html", context)
    if request.method == "POST" and form.is_valid():
        device = match_token(user, form.cleaned_data["token"].strip().replace(" ", ""))
        if device is not None:
            otp_login(request, device)
            return redirect(next_url)
        form.add_error("token", _("That code is not right. Codes change every 30 seconds."))
    return render(request, "registration/two_factor.html", context)


def _b32(key: bytes) -> str:
    return base64.b32encode(key).decode().rstrip("=")
