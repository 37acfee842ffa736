"""Subscribing to email alerts, confirming the address, and unsubscribing with one click."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from clearance.errors import ServiceError
from publications import access, forms, subscriptions


def subscribe(request: HttpRequest) -> HttpResponse:
    form = forms.SubscriptionForm(
        request.POST or None,
        initial={"publication": request.GET.get("publication"), "topic": request.GET.get("topic")},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            subscriptions.subscription_create(
                email=data["email"],
                frequency=data["frequency"],
                language=access.reader_language(),
                topic=data["topic"],
                publication=data["publication"],
            )
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            return render(request, "publications/subscription_sent.html", {"email": data["email"]})
    return render(request, "publications/subscribe.html", {"form": form})


def subscription_confirm(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "POST":
        try:
            subscription = subscriptions.subscription_confirm(token=token)
        except ServiceError as error:
            return render(
                request, "publications/link_error.html", {"message": error.message}, status=400
            )
        return render(
            request, "publications/subscription_confirmed.html", {"subscription": subscription}
        )
    return render(request, "publications/subscription_confirm.html", {"token": token})


# The token alone authorises this (no session): RFC 8058 one-click unsubscribe posts
# from the mail client without a CSRF token.
@csrf_exempt
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "POST":
        try:
            subscriptions.subscription_unsubscribe(token=token)
        except ServiceError as error:
            return render(
                request, "publications/link_error.html", {"message": error.message}, status=400
            )
        return render(request, "publications/unsubscribed.html")
    return render(request, "publications/unsubscribe.html", {"token": token})
