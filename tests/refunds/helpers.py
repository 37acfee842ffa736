"""Declarations with a frozen assessment, put where the payments code meets them."""

import json
import uuid
from decimal import Decimal
from itertools import count
from typing import Any

from django.utils import timezone

from clearance.actors import Actor
from declarations.models import Declaration, DeclarationVersion, Status
from declarations.services import declaration_transition
from refunds.providers import SIGNATURE_HEADER, sandbox_secret, signature_header

_numbers = count(1)


def assessment(total: Decimal, currency: str, *, tax_collected: bool = False) -> dict[str, Any]:
    duty = (total * Decimal("0.4")).quantize(Decimal(1))
    tax = Decimal(0) if tax_collected else total - duty
    fees = total - duty - tax
    reasons = []
    if tax_collected:
        reasons.append(
            {"code": "tax_collected_at_sale", "message": "Collected at sale.", "blocking": False}
        )

    def money(amount: Decimal) -> dict[str, str]:
        return {"amount": f"{amount:f}", "currency": currency}

    return {
        "regime": "KR",
        "eligible": True,
        "held": False,
        "reasons": reasons,
        "duty": money(duty),
        "tax": money(tax),
        "fees": money(fees),
        "total_due": money(total),
    }


def due_declaration(
    organisation: Any,
    *,
    total: str = "30000",
    currency: str = "KRW",
    status: str | None = Status.AWAITING_PAYMENT,
    tax_collected: bool = False,
) -> Declaration:
    """A submitted declaration whose assessment says ``total`` is due, moved to ``status``."""
    n = next(_numbers)
    amount = Decimal(total)
    declaration = Declaration.objects.create(
        organisation=organisation,
        reference=f"PAY-{n:05d}-{uuid.uuid4().hex[:6]}",
        system_reference=f"LVP{uuid.uuid4().hex[:12].upper()}",
        currency="USD",
        status=Status.SUBMITTED,
        version=1,
        submitted_at=timezone.now(),
        tax_collected_at_sale=tax_collected,
    )
    DeclarationVersion.objects.create(
        declaration=declaration,
        number=1,
        data={},
        assessment=assessment(amount, currency, tax_collected=tax_collected),
        customs_value=amount * 5,
        total_due=amount,
        assessment_currency=currency,
        eligible=True,
        held=False,
    )
    if status is not None:
        declaration = declaration_transition(
            declaration=declaration, leaving=Status.SUBMITTED, to=status, actor=Actor()
        )
    return declaration


def callback(
    reference: str,
    amount: Any,
    currency: str,
    *,
    kind: str = "payment.succeeded",
    event_id: str | None = None,
    timestamp: int | None = None,
    secret: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A sandbox callback body and its signature header."""
    body = json.dumps(
        {
            "id": event_id or f"evt_{uuid.uuid4().hex}",
            "type": kind,
            "data": {"reference": reference, "amount": str(amount), "currency": currency},
        }
    ).encode()
    header = signature_header(secret or sandbox_secret(), body, timestamp)
    return body, {SIGNATURE_HEADER: header}


def post_callback(client: Any, body: bytes, headers: dict[str, str]) -> Any:
    return client.post(
        "/payments/webhook/",
        data=body,
        content_type="application/json",
        headers=headers,
    )
