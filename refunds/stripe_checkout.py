"""Stripe Checkout, the payment provider that moves real money (``PAYMENT_PROVIDER=stripe``).

Why Stripe Checkout: the portal collects duties and taxes in the economy's own currency (KRW,
JPY, ...). GOV.UK Pay was considered, but it takes pounds sterling only. Stripe Checkout takes
the local currency, zero-decimal ones included, on a page Stripe hosts, so card details never
reach the portal.

How a payment goes:

1. ``start_payment`` creates a Checkout Session for the amount due (one line item, our
   ``payment.reference`` as ``client_reference_id`` and in the metadata of the session and of
   its PaymentIntent). The payer is sent to the session's URL, and comes back to the payment's
   page on the portal (``SITE_URL`` + the return URL) whether they paid or not.
2. Stripe posts the outcome to the portal's webhook (``/payments/webhook/``), signed with the
   endpoint's secret (``STRIPE_WEBHOOK_SECRET``). Subscribe the endpoint to
   ``checkout.session.completed``, ``checkout.session.async_payment_succeeded``,
   ``checkout.session.async_payment_failed`` and ``checkout.session.expired``;
   ``verify_callback`` reads them into ``payment.succeeded`` and ``payment.failed``, and
   anything else into a kind the portal stores and ignores.
3. If a webhook is lost, ``payment_status`` asks Stripe for the session instead.
4. ``pay_out`` refunds through a Stripe Refund on the PaymentIntent of the session that paid.

Every POST carries an idempotency key of ours (``checkout-<payment reference>``,
``refund-<refund id>``), so a retry, by the SDK after a network error or by the portal after a
failed transaction, returns what the first call made instead of making it twice. Stripe keeps
idempotency keys for at least 24 hours; a payout retried later than that is still made once,
because ``pay_out`` first looks for a refund already made for the same refund id.

Errors from the SDK (``stripe.StripeError``: the network, a refused key, a refused request)
on starting a payment or asking its state reach the payer as ``ProviderUnavailable`` (a
``ServiceError`` in words); a payout's are not caught, so its task fails and the sweeper
retries it. Either way nothing happened as far as the portal is concerned, and trying again
is safe, by the keys above.
"""

import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

import stripe
from django.conf import settings
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _

from clearance.errors import ServiceError
from refunds.models import Payment, Refund
from refunds.providers import CallbackEvent, CallbackRefused, Checkout, ProviderUnavailable

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Stripe-Signature"
TOLERANCE_SECONDS = 300
# The SDK retries a request that failed on the network or with a 409 or 5xx answer, which is
# safe because every POST carries our idempotency key. Three tries of at most 30 s each end
# within the payout task's 120 s limit.
TIMEOUT_SECONDS = 30
NETWORK_RETRIES = 2

SUCCEEDED = "payment.succeeded"
FAILED = "payment.failed"
KINDS = {
    "checkout.session.async_payment_succeeded": SUCCEEDED,
    "checkout.session.async_payment_failed": FAILED,
    "checkout.session.expired": FAILED,
}
KIND_MAX_LENGTH = 50  # ProviderEvent.kind

# https://docs.stripe.com/currencies: amounts in the API are integers in a currency's smallest
# unit, which for most currencies is a hundredth.
ZERO_DECIMAL = frozenset(
    {
        "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA",
        "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
    }
)  # fmt: skip
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
# Whole units only, but written with two decimals in the API (5 ISK is 500).
WHOLE_IN_TWO_DECIMALS = frozenset({"ISK"})


class AmountNotRepresentable(ServiceError):
    """An amount Stripe cannot take in its currency; nothing was sent to Stripe."""


def _stripe_unit(currency: str) -> tuple[int, int]:
    """Decimals of Stripe's smallest unit of ``currency``, and the step (in those units) an
    amount must be a multiple of."""
    code = currency.upper()
    if code in ZERO_DECIMAL:
        return 0, 1
    if code in THREE_DECIMAL:
        return 3, 10
    if code in WHOLE_IN_TWO_DECIMALS:
        return 2, 100
    return 2, 1


def to_stripe_amount(amount: Decimal, currency: str) -> int:
    """``amount`` in Stripe's smallest unit of ``currency``, exactly, or ``AmountNotRepresentable``.

    The currency rule. The portal stores an amount already rounded to the currency's ISO 4217
    minor unit (``clearance.reference.currency_decimals``); Stripe wants an integer in its own
    smallest unit, which is not always the ISO one:

    - zero-decimal currencies (KRW, JPY, VND, CLP, BIF, DJF, GNF, KMF, MGA, PYG, RWF, UGX, VUV,
      XAF, XOF, XPF) take whole units: 30000 KRW is ``30000``, and 1500.50 MGA (two decimals in
      ISO 4217) cannot be paid;
    - three-decimal currencies (BHD, JOD, KWD, OMR, TND) take thousandths whose last digit is 0:
      5.120 KWD is ``5120``, and 5.125 KWD cannot be paid;
    - ISK takes whole krónur written with two decimals: 5 ISK is ``500``;
    - every other currency takes hundredths: 123.45 USD is ``12345``.

    Nothing is rounded: an amount that does not fit is refused, so the payer is never asked
    for more or less than the portal recorded. ``from_stripe_amount`` reads amounts back by
    the same rule.
    """
    places, step = _stripe_unit(currency)
    units = amount.scaleb(places)
    if (
        not amount.is_finite()
        or amount <= 0
        or units != units.to_integral_value()
        or int(units) % step
    ):
        raise AmountNotRepresentable(
            _(
                "Stripe takes %(currency)s amounts in steps of %(step)s, so %(amount)s cannot "
                "be paid or refunded through it."
            )
            % {
                "currency": currency.upper(),
                "step": Decimal(step).scaleb(-places).normalize(),
                "amount": amount.normalize(),
            },
            field="amount",
            code="amount_not_representable",
        )
    return int(units)


def from_stripe_amount(units: int, currency: str) -> Decimal:
    """An integer amount in Stripe's smallest unit of ``currency``, as a Decimal amount."""
    places, _step = _stripe_unit(currency)
    return Decimal(units).scaleb(-places)


def _session_amount(session: Mapping[str, Any]) -> tuple[Decimal, str]:
    units, currency = session["amount_total"], session["currency"]
    if not isinstance(units, int) or isinstance(units, bool) or not isinstance(currency, str):
        raise TypeError("amount_total or currency missing")
    return from_stripe_amount(units, currency), currency.upper()


def _reference(obj: Mapping[str, Any]) -> str:
    """Our payment reference in a Stripe object: the session's ``client_reference_id``, or the
    metadata we put on the session and its PaymentIntent."""
    reference = obj.get("client_reference_id")
    if not reference:
        metadata = obj.get("metadata")
        reference = metadata.get("reference") if isinstance(metadata, Mapping) else None
    return str(reference or "")


def _description(payment: Payment) -> str:
    """The line item's name on Stripe's page, in the organisation owner's language (as on the
    receipts): a fixed language per payment keeps a retried request identical to the first,
    which an idempotency key requires."""
    language = payment.organisation.owner.language or settings.LANGUAGE_CODE
    with translation.override(language):
        if payment.declaration is not None:
            return _("Duties and taxes on declaration %(reference)s") % {
                "reference": payment.declaration.system_reference
            }
        if payment.statement is not None:
            return _("Deferred account statement for %(month)s") % {
                "month": f"{payment.statement.period:%Y-%m}"
            }
        return _("Payment %(reference)s") % {"reference": payment.reference}


def _paying_payment(refund: Refund) -> Payment:
    """The settled Stripe payment a refund goes back through: the declaration's own, or the
    statement payment that paid it, the newest first, that is large enough on its own (a refund
    is one Stripe Refund on one PaymentIntent)."""
    payment = (
        Payment.objects.filter(
            Q(declaration_id=refund.declaration_id)
            | Q(statement__lines__declaration_id=refund.declaration_id),
            status=Payment.Status.SETTLED,
            provider=StripeCheckoutProvider.name,
            currency=refund.currency,
            amount__gte=refund.amount,
        )
        .exclude(provider_reference="")
        .order_by("-settled_at", "-pk")
        .first()
    )
    if payment is None:
        raise ServiceError(
            _("No Stripe payment of this declaration can take a refund of %(amount)s %(currency)s.")
            % {"amount": refund.amount.normalize(), "currency": refund.currency},
            code="no_payment_to_refund",
        )
    return payment


class StripeCheckoutProvider:
    name = "stripe"

    def __init__(self, *, secret_key: str, webhook_secret: str, api_base: str, site_url: str):
        self.webhook_secret = webhook_secret
        self.site_url = site_url
        self.client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base},
            max_network_retries=NETWORK_RETRIES,
            http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
        )

    def start_payment(self, payment: Payment, *, return_url: str) -> Checkout:
        try:
            return self._start(payment, return_url)
        except stripe.StripeError as error:
            log.warning("payment %s: Stripe refused or was unreachable: %s", payment, error)
            raise ProviderUnavailable from error

    def _start(self, payment: Payment, return_url: str) -> Checkout:
        units = to_stripe_amount(payment.amount, payment.currency)
        metadata = {"reference": payment.reference}
        back = self.site_url + return_url
        session = self.client.v1.checkout.sessions.create(
            {
                "mode": "payment",
                "client_reference_id": payment.reference,
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": payment.currency.lower(),
                            "unit_amount": units,
                            "product_data": {"name": _description(payment)},
                        },
                    }
                ],
                "metadata": metadata,
                "payment_intent_data": {"metadata": metadata},
                "success_url": back,
                "cancel_url": back,
            },
            # The same payment opens the same session: starting it again (the payer clicks
            # "Pay" twice, or comes back) cannot open a second one to pay. Stripe keeps the key
            # at least as long as a session stays open (24 hours).
            {"idempotency_key": f"checkout-{payment.reference}"},
        )
        if not session.url:
            raise stripe.APIError(f"Checkout Session {session.id} has no URL to send the payer to")
        return Checkout(url=session.url, provider_reference=session.id)

    def verify_callback(self, headers: Mapping[str, str], raw_body: bytes) -> CallbackEvent:
        try:
            event = self.client.construct_event(
                raw_body,
                headers.get(SIGNATURE_HEADER),
                self.webhook_secret,
                tolerance=TOLERANCE_SECONDS,
            )
        except stripe.SignatureVerificationError as error:
            raise CallbackRefused(f"signature refused: {error.user_message}") from None
        except (ValueError, TypeError, KeyError, AttributeError):
            # Signed but not a Stripe event (not UTF-8, not JSON, not an object).
            raise CallbackRefused("unreadable body") from None
        payload = event.to_dict(for_json=True)
        try:
            event_id, event_type = str(payload["id"]), str(payload["type"])
            obj = payload["data"]["object"]
            if not isinstance(obj, Mapping):
                raise TypeError("data.object is not an object")
            if obj.get("object") == "checkout.session":
                amount, currency = _session_amount(obj)
            else:
                amount, currency = Decimal(0), ""
        except (KeyError, TypeError):
            raise CallbackRefused("unreadable body") from None
        if event_type == "checkout.session.completed":
            # "unpaid" here is an asynchronous method (a bank debit) still under way: its
            # outcome comes as async_payment_succeeded or async_payment_failed.
            kind = SUCCEEDED if obj.get("payment_status") == "paid" else event_type
        else:
            kind = KINDS.get(event_type, event_type)
        return CallbackEvent(
            event_id=event_id,
            kind=kind[:KIND_MAX_LENGTH],
            payment_reference=_reference(obj),
            amount=amount,
            currency=currency,
            payload=payload,
        )

    def payment_status(self, payment: Payment) -> CallbackEvent | None:
        """The session's outcome: paid, expired (failed), or ``None`` while the payer may still
        pay (open, or complete with an asynchronous method still under way, whose failure only
        the webhook reports)."""
        if not payment.provider_reference:
            return None
        try:
            session = self.client.v1.checkout.sessions.retrieve(payment.provider_reference)
        except stripe.StripeError as error:
            raise ProviderUnavailable from error
        outcome: Literal["succeeded", "failed"]
        if session.status == "complete" and session.payment_status == "paid":
            outcome = "succeeded"
        elif session.status == "expired":
            outcome = "failed"
        else:
            return None
        payload = session.to_dict(for_json=True)
        amount, currency = _session_amount(payload)
        return CallbackEvent(
            event_id=f"status:{session.id}:{outcome}",
            kind=f"payment.{outcome}",
            payment_reference=_reference(payload),
            amount=amount,
            currency=currency,
            payload=payload,
        )

    def pay_out(self, refund: Refund) -> str:
        """Refund through the PaymentIntent that paid, once per refund id; the Stripe refund's
        id is the payout reference."""
        units = to_stripe_amount(refund.amount, refund.currency)
        payment = _paying_payment(refund)
        session = self.client.v1.checkout.sessions.retrieve(payment.provider_reference)
        intent = session.payment_intent
        if intent is None:
            raise stripe.APIError(f"Checkout Session {session.id} has no PaymentIntent")
        intent_id = intent if isinstance(intent, str) else intent.id
        ours = str(refund.pk)
        # The idempotency key below is kept by Stripe for 24 hours only, and the sweeper may
        # retry an approved refund later than that: a refund already made for this refund id
        # is found here first.
        made = self.client.v1.refunds.list({"payment_intent": intent_id, "limit": 100})
        for existing in made.auto_paging_iter():
            if existing.metadata is not None and existing.metadata.to_dict().get("refund") == ours:
                return existing.id
        created = self.client.v1.refunds.create(
            {
                "payment_intent": intent_id,
                "amount": units,
                "reason": "duplicate"
                if refund.reason == Refund.Reason.DUPLICATE
                else "requested_by_customer",
                "metadata": {"refund": ours, "reference": payment.reference},
            },
            {"idempotency_key": f"refund-{refund.pk}"},
        )
        return created.id
