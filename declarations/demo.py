"""Demo declarations: one organisation's filings in every status, made through the services
so each has its lines, versions, assessment, history and timeline."""

from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from django.db import transaction

from clearance.actors import Actor
from clearance.models import Organisation
from declarations import services
from declarations.models import Declaration, Lane, Status

# For each demo declaration: its moves after submission, each (status, lane or None).
JOURNEYS: list[tuple[str, list[tuple[str, str | None]]]] = [
    ("DEMO-DRAFT", []),
    ("DEMO-SUBMITTED", [(Status.SUBMITTED, None)]),
    ("DEMO-REVIEW", [(Status.SUBMITTED, None), (Status.UNDER_REVIEW, Lane.YELLOW)]),
    (
        "DEMO-INFO",
        [
            (Status.SUBMITTED, None),
            (Status.UNDER_REVIEW, Lane.YELLOW),
            (Status.INFO_REQUESTED, None),
        ],
    ),
    ("DEMO-PAYMENT", [(Status.SUBMITTED, None), (Status.AWAITING_PAYMENT, Lane.GREEN)]),
    # Filed in New Taiwan dollars, which the ECB does not quote: no rate, so it is held.
    ("DEMO-HELD", [(Status.HELD, None)]),
    # Under review here; the review room's demo (clearance/review/demo.py) has an officer
    # release it, since goods leave only through the release service, which this app sits
    # below. Sent by post and worth under the limit, it owes nothing, so the officer's release
    # clears it.
    ("DEMO-RELEASED", [(Status.SUBMITTED, None), (Status.UNDER_REVIEW, Lane.YELLOW)]),
    (
        "DEMO-REJECTED",
        [(Status.SUBMITTED, None), (Status.UNDER_REVIEW, Lane.RED), (Status.REJECTED, None)],
    ),
    (
        "DEMO-SEIZED",
        [(Status.SUBMITTED, None), (Status.UNDER_REVIEW, Lane.RED), (Status.SEIZED, None)],
    ),
    ("DEMO-CANCELLED", [(Status.SUBMITTED, None), (Status.CANCELLED, None)]),
]

GOODS = [
    ("Wireless bluetooth headphones", "851830", "39.90", "0.4"),
    ("Cotton T-shirts for men", "610910", "12.50", "0.3"),
    ("Leather wallet", "420231", "25.00", "0.2"),
    ("Stainless steel water bottle", "732393", "15.00", "0.5"),
]


def _data(reference: str, n: int) -> dict[str, Any]:
    lines = []
    for i in range(2):
        description, hs_code, value, mass = GOODS[(n + i) % len(GOODS)]
        lines.append(
            {
                "description": description,
                "hs_code": hs_code,
                "quantity": str(i + 1),
                "unit": "pcs",
                "value": value,
                "origin_country": "CN",
                "gross_mass_kg": mass,
            }
        )
    return {
        "reference": reference,
        "transport_mode": ["postal", "express", "cargo"][n % 3],
        "transport_document": f"LX{n:09d}CN",
        "carrier": "Demo Parcel Service",
        "marketplace": "Demo Market",
        "order_reference": f"DM-{1000 + n}",
        "purpose": "personal",
        "seller": {"name": "Shenzhen Demo Trading", "address": "1 Market St", "country": "CN"},
        "consignee": {
            "name": f"Demo Consignee {n + 1}",
            "address": "12 Sejong-daero, Seoul",
            "country": "KR",
            "id_number": f"P{n + 1:012d}",
        },
        "currency": "TWD" if reference == "DEMO-HELD" else "USD",
        "shipping_cost": "5.00",
        "insurance_cost": "0.00",
        "lines": lines,
    }


def seed(organisation: Organisation) -> list[Declaration]:
    """Declarations of every status for ``organisation``; running it again adds nothing."""
    filer = Actor(user=organisation.owner)
    customs = Actor()  # moves an officer or the risk engine would make
    made = []
    for n, (reference, journey) in enumerate(JOURNEYS):
        existing = Declaration.objects.filter(organisation=organisation, reference=reference)
        if existing.exists():
            continue
        # One transaction per journey: the scoring a submission queues after commit finds the
        # declaration where its journey ends, so a running worker cannot move it halfway.
        with transaction.atomic():
            declaration = services.declaration_create(
                organisation=organisation,
                data=_data(reference, n),
                submit=bool(journey),
                actor=filer,
            )
            for (leaving, _lane), (status, lane) in pairwise(journey):
                if declaration.status == Status.HELD:
                    break  # nothing moves a parcel that could not be assessed
                actor = filer if status == Status.CANCELLED else customs
                declaration = services.declaration_transition(
                    declaration=declaration, to=status, actor=actor, lane=lane, leaving=leaving
                )
        made.append(declaration)
    return made


def seed_demo(people: Mapping[str, Any]) -> str:
    """Called by ``manage.py seed_demo`` with the demo organisations and staff by role."""
    made = [d for kind in ("seller", "platform") if kind in people for d in seed(people[kind])]
    return f"{len(made)} declarations created"
