"""Webhook endpoints in the browser (under /declarations/webhooks/).

Who may manage them is the rule of the API keys' pages: the owner of an organisation, for
the first organisation they own; anyone else, and any other organisation's endpoint or
delivery, gets a 404. A new endpoint's secret (or a rotated one) is shown once, on the page
that follows, from the session, and never again. Every write is a POST with its CSRF token
and goes through ``declarations.webhooks``; a refused address is shown on the ``url`` field.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clearance.access import found_or_404
from clearance.actors import Actor
from clearance.errors import ServiceError
from clearance.models import Organisation, User
from declarations import access, webhook_delivery, webhooks
from declarations.forms import WebhookEndpointForm
from declarations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

# Where the session keeps a new secret until the next page shows it.
SHOWN_ONCE = "webhook_secret"


def _owner(request: HttpRequest) -> tuple[User, Organisation]:
    user = request.user
    assert isinstance(user, User)
    return user, access.owned_organisation(user)


def _endpoint(request: HttpRequest, pk: int) -> tuple[User, WebhookEndpoint]:
    user, organisation = _owner(request)
    return user, found_or_404(WebhookEndpoint.objects.filter(organisation=organisation), pk=pk)


def _show_secret_once(request: HttpRequest, endpoint: WebhookEndpoint, secret: str) -> None:
    request.session[SHOWN_ONCE] = {"endpoint": endpoint.pk, "secret": secret}


def _take_secret(request: HttpRequest, endpoint: WebhookEndpoint) -> str:
    kept = request.session.get(SHOWN_ONCE)
    if isinstance(kept, dict) and kept.get("endpoint") == endpoint.pk:
        del request.session[SHOWN_ONCE]
        return str(kept.get("secret", ""))
    return ""


def _refused(form: WebhookEndpointForm, error: ServiceError) -> None:
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


@login_required
def webhook_endpoints(request: HttpRequest) -> HttpResponse:
    _user, organisation = _owner(request)
    return render(
        request,
        "declarations/webhook_list.html",
        {
            "organisation": organisation,
            "endpoints": WebhookEndpoint.objects.filter(organisation=organisation),
        },
    )


@login_required
def webhook_endpoint_new(request: HttpRequest) -> HttpResponse:
    user, organisation = _owner(request)
    form = WebhookEndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = webhooks.endpoint_create(
                organisation=organisation, actor=Actor(user=user), **form.cleaned_data
            )
        except ServiceError as error:
            _refused(form, error)
        else:
            _show_secret_once(request, endpoint, secret)
            messages.success(request, _("Endpoint added."))
            return redirect("webhook_endpoint", pk=endpoint.pk)
    return render(
        request, "declarations/webhook_form.html", {"form": form, "organisation": organisation}
    )


@login_required
def webhook_endpoint(request: HttpRequest, pk: int) -> HttpResponse:
    """An endpoint, its secret once when just made, and its delivery log with the attempts."""
    _user, endpoint = _endpoint(request, pk)
    attempts = WebhookAttempt.objects.select_related("by").order_by("at", "id")
    deliveries = (
        endpoint.deliveries.select_related("event")
        .prefetch_related(Prefetch("attempt_log", queryset=attempts))
        .order_by("-id")
    )
    page = Paginator(deliveries, 20).get_page(request.GET.get("page"))
    return render(
        request,
        "declarations/webhook_detail.html",
        {
            "endpoint": endpoint,
            "secret": _take_secret(request, endpoint),
            "page": page,
            "log": [(delivery, delivery.attempt_log.all()) for delivery in page],
        },
    )


@login_required
def webhook_endpoint_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user, endpoint = _endpoint(request, pk)
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
    }
    form = WebhookEndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            webhooks.endpoint_update(
                endpoint=endpoint, changes=form.cleaned_data, actor=Actor(user=user)
            )
        except ServiceError as error:
            _refused(form, error)
        else:
            messages.success(request, _("Endpoint saved."))
            return redirect("webhook_endpoint", pk=endpoint.pk)
    return render(
        request,
        "declarations/webhook_form.html",
        {"form": form, "endpoint": endpoint, "organisation": endpoint.organisation},
    )


@login_required
@require_POST
def webhook_endpoint_active(request: HttpRequest, pk: int) -> HttpResponse:
    user, endpoint = _endpoint(request, pk)
    active = request.POST.get("active") == "1"
    webhooks.endpoint_set_active(endpoint=endpoint, active=active, actor=Actor(user=user))
    messages.success(request, _("Endpoint enabled.") if active else _("Endpoint disabled."))
    return redirect("webhook_endpoint", pk=endpoint.pk)


@login_required
@require_POST
def webhook_endpoint_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    user, endpoint = _endpoint(request, pk)
    secret = webhooks.endpoint_rotate_secret(endpoint=endpoint, actor=Actor(user=user))
    _show_secret_once(request, endpoint, secret)
    messages.success(request, _("The endpoint has a new secret; the old one no longer works."))
    return redirect("webhook_endpoint", pk=endpoint.pk)


@login_required
@require_POST
def webhook_endpoint_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user, endpoint = _endpoint(request, pk)
    webhooks.endpoint_delete(endpoint=endpoint, actor=Actor(user=user))
    messages.success(request, _("Endpoint %(url)s deleted.") % {"url": endpoint.url})
    return redirect("webhook_endpoints")


@login_required
@require_POST
def webhook_redeliver(request: HttpRequest, pk: int, delivery_id: int) -> HttpResponse:
    user, endpoint = _endpoint(request, pk)
    delivery = found_or_404(WebhookDelivery.objects.filter(endpoint=endpoint), pk=delivery_id)
    if endpoint.active:
        webhook_delivery.redeliver(delivery=delivery, by=user)
        messages.success(
            request, _("Delivery %(id)s will be sent again in a moment.") % {"id": delivery.pk}
        )
    else:
        messages.error(request, _("Enable the endpoint before sending to it again."))
    return redirect("webhook_endpoint", pk=endpoint.pk)
