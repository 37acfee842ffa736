"""The sandbox payment gateway: a hosted payment page, as a real provider would serve it.

Mounted under ``/sandbox-gateway/`` only while ``PAYMENT_PROVIDER`` is ``sandbox``. It knows
nothing of the portal's database: the checkout token (signed by the portal) says what to pay.
After "Pay" it sends the signed callback to the portal's webhook over real HTTP, synchronously
(the portal is served by a threaded or multi-worker server, so the request it makes to itself
is answered by another thread), then sends the payer back to the portal's return page. The
portal settles on the callback only; the return page merely shows the payment's status.

The callback goes to the portal's configured address (``SITE_URL``), never to the address the
payer's request named in its ``Host`` header: otherwise a made-up ``Host`` would choose where a
validly signed callback is posted. When the portal cannot be reached, the payer is told so on
the gateway's page (502) and nothing is settled.
"""

import json
import logging
import time
import urllib.error
import urllib.request
import uuid

from django.conf import settings
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme

from refunds.providers import SIGNATURE_HEADER, SandboxProvider, sandbox_secret, signature_header

TIMEOUT_SECONDS = 10
logger = logging.getLogger(__name__)


def _checkout(request: HttpRequest) -> dict[str, str]:
    if settings.PAYMENT_PROVIDER != "sandbox":
        raise Http404
    try:
        data: dict[str, str] = signing.loads(
            request.GET.get("token", ""), salt=SandboxProvider.TOKEN_SALT
        )
    except signing.BadSignature:
        raise Http404 from None
    return data


def send_callback(url: str, body: dict[str, object]) -> int:
    raw = json.dumps(body, separators=(",", ":")).encode()
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an HTTP URL: {url}")
    http_request = urllib.request.Request(  # noqa: S310 (checked just above)
        url,
        data=raw,
        method="POST",
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature_header(sandbox_secret(), raw),
        },
    )
    try:
        with urllib.request.urlopen(http_request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            status: int = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    return status


def checkout(request: HttpRequest) -> HttpResponse:
    data = _checkout(request)
    if request.method == "POST":
        outcome = "payment.succeeded" if "pay" in request.POST else "payment.failed"
        callback = settings.SITE_URL + reverse("payment_webhook")
        try:
            send_callback(
                callback,
                {
                    "id": f"evt_{uuid.uuid4().hex}",
                    "type": outcome,
                    "created": int(time.time()),
                    "data": {
                        "reference": data["reference"],
                        "amount": data["amount"],
                        "currency": data["currency"],
                    },
                },
            )
        except OSError as error:  # URLError and timeouts: the portal did not answer
            logger.warning("Sandbox callback to %s failed: %s", callback, error)
            context = {"checkout": data, "unreachable": True}
            return render(request, "refunds/sandbox_checkout.html", context, status=502)
        target = data["return_url"]
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = "/"
        return HttpResponseRedirect(target)
    return render(request, "refunds/sandbox_checkout.html", {"checkout": data})


urlpatterns = [path("checkout/", checkout, name="sandbox_checkout")]
