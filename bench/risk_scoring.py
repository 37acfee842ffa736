"""Risk scoring speed: the batch path, the workers' rate, and 10,000 submissions end to end.

1. Scores N submitted declarations (default 10,000, in the chunks submission queues) by
   calling the batch path the worker runs (``clearance.risk.scoring.score_declarations``: rules,
   history lookups, the score rows, the status moves with history, the review cases) in this
   one process, and prints declarations scored per second.
2. With a real ``celery worker`` started as ``make demo`` starts it (two processes, the
   other settings Celery's defaults) told to stop consuming, submits N more (batches of 1,000,
   as the batch API does), then lets it consume: the seconds until every one is scored is
   both the workers' scoring rate and the worst case of "scored within 30 s of the last
   submission" (nothing was scored while they were submitted).
3. Submits N more with the worker consuming as they come, and prints the seconds from the
   last submission until every one is scored.
4. Beside them, in the same run and on the same worker: the rate of a trivial Celery task
   (``celery.accumulate``, which returns its arguments), sent N at once.

Run against a database of its own, which it migrates and fills:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clearance_bench REDIS_URL=redis://... \
    .venv/bin/python bench/risk_scoring.py [--declarations 10000]
"""

import argparse
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clearance.settings")
# Measured with production settings: DEBUG on keeps every query in memory.
os.environ.update(
    DEBUG="false",
    SECRET_KEY=os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
    ALLOWED_HOSTS="127.0.0.1,localhost",
    LOG_LEVEL="WARNING",
    # Nothing is paid here; production settings refuse the sandbox unless told so.
    PAYMENT_SANDBOX_NOT_FOR_PRODUCTION="true",
    CELERY_QUEUE=f"bench-{uuid.uuid4().hex[:8]}",
)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from clearance import regimes  # noqa: E402
from clearance.actors import Actor  # noqa: E402
from clearance.celery import app  # noqa: E402
from clearance.models import ExchangeRate, Organisation, User  # noqa: E402
from clearance.risk import scoring  # noqa: E402
from clearance.risk.models import RiskScore  # noqa: E402
from declarations import services  # noqa: E402
from declarations.models import Declaration, Status  # noqa: E402

QUEUE = os.environ["CELERY_QUEUE"]
LINE = {
    "description": "Wireless bluetooth headphones",
    "hs_code": "851830",
    "quantity": "2",
    "unit": "pcs",
    "value": "39.90",
    "origin_country": "CN",
    "gross_mass_kg": "0.6",
}


def item(prefix: str, n: int) -> dict[str, object]:
    return {
        "reference": f"{prefix}-{n:06d}",
        "transport_mode": "express",
        "transport_document": f"TRK{n:09d}",
        "purpose": "personal",
        "seller": {"name": f"Seller {n % 50}", "address": "1 Market St", "country": "CN"},
        "consignee": {
            "name": f"Consignee {n % 3000}",
            "address": "12 Sejong-daero, Seoul",
            "country": "KR",
            "id_number": f"P{n % 3000:012d}",
        },
        "currency": "USD",
        "shipping_cost": "5.00",
        "insurance_cost": "0.00",
        "tax_collected_at_sale": False,
        "vendor_tax_id": "",
        "lines": [LINE, {**LINE, "description": "Cotton T-shirts", "hs_code": "610910"}],
    }


def rates_for_today() -> None:
    """The demo regime, with exchange rates for today: workers assess on the real clock."""
    today = timezone.localdate()
    regimes.load_reference_data()
    for currency, rate in (("USD", "1.08"), ("KRW", "1450")):
        ExchangeRate.objects.update_or_create(
            date=today, base="EUR", currency=currency, defaults={"rate": Decimal(rate)}
        )


def submit(organisation: Organisation, prefix: str, count: int) -> list[int]:
    ids: list[int] = []
    for start in range(0, count, 1000):
        items = [item(prefix, n) for n in range(start, min(start + 1000, count))]
        outcomes = services.declarations_create(
            organisation=organisation, items=items, submit=True, actor=Actor()
        )
        ids += [o.declaration.pk for o in outcomes if o.declaration is not None]
    return ids


def redis_client() -> Any:
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


def drained() -> bool:
    client = redis_client()
    if client.llen(QUEUE):
        return False
    return not any(QUEUE.encode() in payload for payload in client.hvals("unacked"))


def wait(predicate: Callable[[], bool], timeout: float = 600.0) -> float:
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > timeout:
            raise SystemExit("timed out")
        time.sleep(0.02)
    return time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--declarations", type=int, default=10_000)
    args = parser.parse_args()
    n = args.declarations

    call_command("migrate", verbosity=0)
    rates_for_today()
    tag = uuid.uuid4().hex[:6]
    owner = User.objects.create_user(f"bench-{tag}@example.test")
    organisation = Organisation.objects.create(name=f"Bench {tag}", kind="platform", owner=owner)

    # 1. The batch path, in this process (nothing consumes the bench queue yet).
    ids = submit(organisation, f"A{tag}", n)
    start = time.perf_counter()
    scored = 0
    for i in range(0, len(ids), services.SCORING_CHUNK):
        scored += scoring.score_declarations(ids[i : i + services.SCORING_CHUNK])
    batch_rate = scored / (time.perf_counter() - start)
    redis_client().delete(QUEUE, f"{QUEUE}-documents")  # part 1's notices: not rendered here

    # 2, 3 and 4: a real worker, started as make demo starts it.
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "clearance",
            "worker",
            "-Q",
            f"{QUEUE},{QUEUE}-documents",  # as a deployed worker reads them: PDFs last
            "-l",
            "warning",
            "-c",
            "2",
        ],
        env=dict(os.environ),
        cwd=ROOT,
    )
    try:
        app.send_task("celery.accumulate", args=[1], queue=QUEUE)
        wait(drained)  # the worker is up and its pool has run a task
        start = time.perf_counter()
        for _ in range(n):
            app.send_task("celery.accumulate", args=[1], queue=QUEUE)
        trivial_rate = n / (wait(drained) - start)

        if not app.control.cancel_consumer(QUEUE, reply=True, timeout=10):
            raise SystemExit("the worker did not stop consuming")
        queued = submit(organisation, f"B{tag}", n)
        start = time.perf_counter()
        app.control.add_consumer(QUEUE)
        drain = wait(lambda: scored_count(queued) == n) - start

        live = submit(organisation, f"C{tag}", n)
        last = time.perf_counter()
        end_to_end = wait(lambda: scored_count(live) == n) - last
        left = Declaration.objects.filter(pk__in=queued + live, status=Status.SUBMITTED).count()
    finally:
        worker.terminate()
        worker.wait(timeout=60)

    print(f"declarations: {n} per part; worker: 2 processes as make demo; {os.cpu_count()} cores")
    print(f"1. batch scoring path, one process: {batch_rate:8.0f} declarations/s  (goal 5,000)")
    print(f"2. the worker, {n} queued at once:  {n / drain:8.0f} declarations/s  (goal 5,000)")
    print(f"   all scored {drain:5.1f} s after the last submission (goal 30 s)")
    print(f"3. scored as submitted: all scored {end_to_end:5.1f} s after the last submission")
    print(f"4. trivial Celery task, same run:   {trivial_rate:8.0f} tasks/s")
    print(f"left unscored: {left}")


def scored_count(ids: list[int]) -> int:
    return RiskScore.objects.filter(declaration_id__in=ids).count()


if __name__ == "__main__":
    main()
