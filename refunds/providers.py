"""Payment providers behind one small interface: the sandbox, and Stripe Checkout.

A provider does four things for the portal:

``start_payment(payment, *, return_url) -> Checkout``
    Register the payment with the provider and return its hosted payment page (``url``), to
    which the payer is redirected, and the provider's own id of the payment
    (``provider_reference``, stored on the ``Payment``). The portal never learns card or bank
    details. Calling it again for the same payment must not open a second payment at the
    provider.
``verify_callback(headers, raw_body) -> CallbackEvent``
    Check that a callback (webhook) really comes from the provider, recently, and read it into a
    ``CallbackEvent``; refuse it with ``CallbackRefused`` otherwise. The portal settles a payment
    only on a verified callback or on the provider's own answer to ``payment_status``, never on
    the payer coming back to the return URL.
``payment_status(payment) -> CallbackEvent | None``
    Ask the provider what became of a payment, for when a callback was lost: a ``CallbackEvent``
    once it succeeded or failed, ``None`` while it is open. The event id is the same every time
    for the same outcome, so applying the answer twice stores it once (the unique
    ``ProviderEvent`` constraint) and settles once.
``pay_out(refund) -> str``
    Send a refund's money back and return the provider's reference of that payout.

``PAYMENT_PROVIDER`` picks one:

``sandbox`` (``SandboxProvider``, with the gateway in ``refunds.sandbox``)
    A hosted page that moves no money and calls back signed with HMAC-SHA256 over
    ``timestamp + "." + body``, as Stripe does. It always calls back, so ``payment_status``
    has nothing to add.
``stripe`` (``refunds.stripe_checkout.StripeCheckoutProvider``)
    Stripe Checkout through the official SDK: a Checkout Session per payment, Stripe's signed
    ``checkout.session.*`` webhook events, and Refunds on the session's PaymentIntent.

Whatever the provider, the refund's id is the provider's idempotency key for its payout: the
portal calls ``pay_out`` once under a row lock, and if the portal's transaction then fails, the
retried call returns the same payout instead of sending the money twice.
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
from django.utils.translation import gettext as _

from clearance.errors import ServiceError
from refunds.models import Payment, Refund, SandboxPayout

SIGNATURE_HEADER = "X-Sandbox-Signature"
TOLERANCE_SECONDS = 300


class CallbackRefused(Exception):
    """The callback is not authentic, too old, or unreadable: answer 400 and change nothing."""


class ProviderUnavailable(ServiceError):
    """The provider could not be reached or refused the request: nothing was started, and
    trying again is safe (every request carries an idempotency key of ours)."""

    def __init__(self) -> None:
        super().__init__(
            _("The payment provider could not be reached. Try again in a moment."),
            code="provider_unavailable",
        )


@dataclass(frozen=True)
class Checkout:
    """Where to send the payer, and the provider's id of the payment ("" when it has none)."""

    url: str
    provider_reference: str = ""


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

    def start_payment(self, payment: Payment, *, return_url: str) -> Checkout: ...

    def verify_callback(self, headers: Mapping[str, str], raw_body: bytes) -> CallbackEvent: ...

    def payment_status(self, payment: Payment) -> CallbackEvent | None: ...

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

    def start_payment(self, payment: Payment, *, return_url: str) -> Checkout:
        token = signing.dumps(
            {
                "reference": payment.reference,
                "amount": str(payment.amount),
                "currency": payment.currency,
                "return_url": return_url,
            },
            salt=self.TOKEN_SALT,
        )
        return Checkout(url=reverse("sandbox_checkout") + "?" + urlencode({"token": token}))

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

    def payment_status(self, payment: Payment) -> CallbackEvent | None:
        # The gateway calls back before it sends the payer back: there is no lost callback to
        # make up for.
        return None

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
    if name == "stripe":
        # Imported here: the Stripe SDK is loaded only where Stripe is the provider, and
        # refunds.stripe_checkout imports this module's types.
        from refunds.stripe_checkout import StripeCheckoutProvider

        return StripeCheckoutProvider(
            secret_key=settings.STRIPE_SECRET_KEY,
            webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
            api_base=settings.STRIPE_API_BASE,
            site_url=settings.SITE_URL,
        )
    raise LookupError(f"Unknown payment provider {name!r}")
