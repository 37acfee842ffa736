"""How fast the portal settles payment callbacks and takes refund requests.

Run: DEBUG=true DATABASE_URL=... .venv/bin/python bench/payments.py [count]
Everything runs in one transaction that is rolled back at the end, so the database is left as
it was (the append-only ledger included). Prints each figure beside the baseline measured when
the code was written (same machine class, PostgreSQL on loopback), so a regression shows as a
ratio well below 1.
"""

import json
import os
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clearance.settings")
django.setup()

from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from clearance.actors import Actor  # noqa: E402
from clearance.models import Organisation, User  # noqa: E402
from declarations.models import Declaration, DeclarationVersion, Status  # noqa: E402
from declarations.services import declaration_transition  # noqa: E402
from refunds import payments, services  # noqa: E402
from refunds.providers import SIGNATURE_HEADER, sandbox_secret, signature_header  # noqa: E402

BASELINE = {"callbacks_per_s": 80.0, "refund_requests_per_s": 73.0}


def due(organisation: Organisation) -> Declaration:
    declaration = Declaration.objects.create(
        organisation=organisation,
        reference=f"B-{uuid.uuid4().hex[:12]}",
        system_reference=f"LVB{uuid.uuid4().hex[:12].upper()}",
        status=Status.SUBMITTED,
        version=1,
        submitted_at=timezone.now(),
    )
    DeclarationVersion.objects.create(
        declaration=declaration,
        number=1,
        data={},
        assessment={},
        customs_value=Decimal(150000),
        total_due=Decimal(30000),
        assessment_currency="KRW",
        eligible=True,
        held=False,
    )
    return declaration_transition(
        declaration=declaration, leaving=Status.SUBMITTED, to=Status.AWAITING_PAYMENT, actor=Actor()
    )


def main(count: int) -> None:
    with transaction.atomic():
        owner = User.objects.create(email=f"bench-{uuid.uuid4().hex}@example.test")
        organisation = Organisation.objects.create(name="Bench", kind="seller", owner=owner)
        actor = Actor(user=owner)
        bodies = []
        declarations = []
        for _ in range(count):
            declaration = due(organisation)
            payment, _url = payments.payment_start(declaration=declaration, actor=actor)
            body = json.dumps(
                {
                    "id": f"evt_{uuid.uuid4().hex}",
                    "type": "payment.succeeded",
                    "data": {"reference": payment.reference, "amount": "30000", "currency": "KRW"},
                }
            ).encode()
            bodies.append(body)
            declarations.append(declaration)

        start = time.perf_counter()
        for body in bodies:
            headers = {SIGNATURE_HEADER: signature_header(sandbox_secret(), body)}
            assert payments.callback_receive(headers=headers, raw_body=body) == "settled"
        callbacks = count / (time.perf_counter() - start)

        start = time.perf_counter()
        for declaration in declarations:
            services.refund_request(
                declaration=declaration, reason="duplicate", amount=Decimal(1000), actor=actor
            )
        refunds = count / (time.perf_counter() - start)
        transaction.set_rollback(True)

    for name, value in (("callbacks_per_s", callbacks), ("refund_requests_per_s", refunds)):
        print(
            f"{name:24} {value:10.1f}   baseline {BASELINE[name]:8.1f}   "
            f"ratio {value / BASELINE[name]:.2f}"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
