"""Payment providers behind one small interface, and the sandbox provider.

A provider does three things for the portal:

``start_payment(payment, return_url)``
    Register the payment with the provider and return the URL of its hosted payment page, to
    which the user is redirected. The portal never learns card or bank details.
``verify_callback(headers, raw_body)``
    Check that a callback (webhook) really comes from the provider, recently, and read it into a
    ``CallbackEvent``; refuse it with ``CallbackRefused`` otherwise. The portal settles a payment
    only on a verified callback, never on the user coming back to the return URL.
``pay_out(refund)``
    Send a refund's money back and return the provider's reference of that payout.

How a real provider plugs in: write a class with these three methods, return it from
``get_provider`` under a name, and set ``PAYMENT_PROVIDER`` to that name. For Stripe,
``start_payment`` creates a Checkout Session (``client_reference_id=payment.reference``,
the amount in minor units, ``success_url=return_url``) and returns ``session.url``;
``verify_callback`` calls ``stripe.Webhook.construct_event(raw_body,
headers["Stripe-Signature"], secret)`` (the same HMAC-SHA256 over ``timestamp + "." + body``
with a tolerance window that the sandbox uses) and maps ``checkout.session.completed`` to
``payment.succeeded``; ``pay_out`` creates a Refund on the original PaymentIntent with
``idempotency_key=f"refund-{refund.pk}"``. A national gateway (a bank's or a treasury's
e-payment hub) maps its own notification signature and payout API the same way. Whatever the
provider, send the refund's id as the provider's idempotency key: the portal calls ``pay_out``
once under a row lock, and if the portal's transaction then fails, the retried call returns
the same payout instead of sending the money twice.
"""

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Protocol

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.http import urlencode

from refunds.models import Payment, Refund, SandboxPayout

SIGNATURE_HEADER = "X-Sandbox-Signature"
TOLERANCE_SECONDS = 300


class CallbackRefused(Exception):
    """The callback is not authentic, too old, or unreadable: answer 400 and change nothing."""


@dataclass(frozen=True)
class CallbackEvent:
    event_id: str
    kind: str  # "payment.succeeded" or "payment.failed"
    payment_reference: str
    amount: Decimal
    currency: str
    payload: dict[str, object]


class Provider(Protocol):
    name: str

    def start_payment(self, payment: Payment, *, return_url: str) -> str: ...

    def verify_callback(self, headers: Mapping[str, str], raw_body: bytes) -> CallbackEvent: ...

    def pay_out(self, refund: Refund) -> str: ...


def sign(secret: str, timestamp: int, raw_body: bytes) -> str:
    message = str(timestamp).encode() + b"." + raw_body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, raw_body: bytes, timestamp: int | None = None) -> str:
    stamp = int(time.time()) if timestamp is None else timestamp
    return f"t={stamp},v1={sign(secret, stamp, raw_body)}"


class SandboxProvider:
    """Behaves like a hosted payment page: see ``refunds.sandbox`` for the gateway's side.

    The payment page is given a signed token (amount, currency, our reference, where to go
    back to), so the gateway needs nothing from the portal's database.
    """

    name = "sandbox"
    TOKEN_SALT = "refunds.sandbox.checkout"  # noqa: S105 (a signing salt, not a secret)

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def start_payment(self, payment: Payment, *, return_url: str) -> str:
        token = signing.dumps(
            {
                "reference": payment.reference,
                "amount": str(payment.amount),
                "currency": payment.currency,
                "return_url": return_url,
            },
            salt=self.TOKEN_SALT,
        )
        return reverse("sandbox_checkout") + "?" + urlencode({"token": token})

    def verify_callback(self, headers: Mapping[str, str], raw_body: bytes) -> CallbackEvent:
        header = headers.get(SIGNATURE_HEADER, "")
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        try:
            timestamp = int(parts["t"])
            given = parts["v1"]
        except (KeyError, ValueError):
            raise CallbackRefused("missing or malformed signature header") from None
        if not hmac.compare_digest(sign(self.secret, timestamp, raw_body), given):
            raise CallbackRefused("bad signature")
        if abs(time.time() - timestamp) > TOLERANCE_SECONDS:
            raise CallbackRefused("timestamp outside the tolerance window")
        try:
            body = json.loads(raw_body)
            return CallbackEvent(
                event_id=str(body["id"]),
                kind=str(body["type"]),
                payment_reference=str(body["data"]["reference"]),
                amount=Decimal(str(body["data"]["amount"])),
                currency=str(body["data"]["currency"]),
                payload=body,
            )
        except (ValueError, KeyError, TypeError, InvalidOperation):
            raise CallbackRefused("unreadable body") from None

    def pay_out(self, refund: Refund) -> str:
        reference = f"sbx_po_{uuid.uuid4().hex}"
        SandboxPayout.objects.create(
            refund_id=refund.pk,
            amount=refund.amount,
            currency=refund.currency,
            reference=reference,
        )
        return reference


def sandbox_secret() -> str:
    """``PAYMENT_SANDBOX_SECRET``, or a key derived from ``SECRET_KEY`` when it is unset."""
    configured: str = settings.PAYMENT_SANDBOX_SECRET
    if configured:
        return configured
    return hmac.new(settings.SECRET_KEY.encode(), b"payment-sandbox", hashlib.sha256).hexdigest()


def get_provider() -> Provider:
    name = settings.PAYMENT_PROVIDER
    if name == "sandbox":
        return SandboxProvider(sandbox_secret())
    raise LookupError(f"Unknown payment provider {name!r}")
