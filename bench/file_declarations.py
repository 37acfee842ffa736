"""Filing speed and CSV memory, against gunicorn and the real PostgreSQL.

1. Files 10,000 declarations of 3 lines each through POST /api/v1/declarations/batch/ in
   batches of 500 (submitted at once, so each is stored with its lines, history, status
   changes and assessed version), and prints declarations per second beside a PostgreSQL
   COPY of the same declaration and line rows measured in the same run.
2. Checks and imports a 100,000-line CSV file in a worker process and prints its peak memory
   (the goal: under 300 MB).

Run against a database of its own, which it migrates and fills:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clearance_bench REDIS_URL=redis://... \
    .venv/bin/python bench/file_declarations.py [--declarations 10000] [--csv-lines 100000]
"""

import argparse
import csv
import io
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clearance.settings")
# Measured with production settings: DEBUG on keeps every query in memory.
os.environ.update(
    DEBUG="false",
    SECRET_KEY=os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
    ALLOWED_HOSTS="127.0.0.1,localhost",
    SECURE_SSL_REDIRECT="false",
    STATIC_FROM_FINDERS="true",
    LOG_LEVEL="WARNING",
    # Nothing is paid here; production settings refuse the sandbox unless told so.
    PAYMENT_SANDBOX_NOT_FOR_PRODUCTION="true",
    # The 100,000-line file (about 25 MB) is over the default CSV limit: a deployment that takes
    # such files raises it, as here.
    CSV_UPLOAD_MAX_BYTES=str(64 * 1024 * 1024),
)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from clearance import regimes  # noqa: E402
from clearance.models import ExchangeRate, Organisation, User  # noqa: E402
from clearance.services import apikey_create, organisation_create  # noqa: E402
from declarations import csvfiles  # noqa: E402
from declarations.models import (  # noqa: E402
    CsvUpload,
    Declaration,
    DeclarationVersion,
    Line,
    StatusChange,
)

GOAL_PER_SECOND = 1000
MEMORY_GOAL_MB = 300
PRODUCTS = [
    ("Wireless bluetooth headphones", "851830", "39.90"),
    ("Cotton T-shirts for men", "610910", "12.50"),
    ("Leather wallet", "420231", "25.00"),
    ("Stainless steel water bottle", "732393", "15.00"),
    ("Plastic phone case", "392690", "6.90"),
]


def declaration(run: str, n: int) -> dict[str, object]:
    lines = []
    for i in range(3):
        description, hs_code, value = PRODUCTS[(n + i) % len(PRODUCTS)]
        lines.append(
            {
                "description": description,
                "hs_code": hs_code,
                "quantity": "1",
                "unit": "pcs",
                "value": value,
                "origin_country": "CN",
                "gross_mass_kg": "0.3",
            }
        )
    return {
        "reference": f"{run}-{n:06d}",
        "transport_mode": "express",
        "transport_document": f"1Z{n:016d}",
        "carrier": "Fast Parcel",
        "marketplace": "Shop Example",
        "order_reference": f"SO-{n}",
        "purpose": "personal",
        "seller": {"name": "Shenzhen Audio Ltd", "address": "1 Market St", "country": "CN"},
        "consignee": {
            "name": f"Consignee {n}",
            "address": "12 Sejong-daero, Seoul",
            "country": "KR",
            "id_number": f"{run}{n:08d}",
        },
        "currency": "USD",
        "shipping_cost": "5.00",
        "insurance_cost": "0.00",
        "lines": lines,
    }


def prepare() -> tuple[Organisation, str]:
    call_command("migrate", verbosity=0)
    regimes.load_reference_data()
    # The shipped ECB rates end on a past day: repeat the last day's rates for today, so
    # every parcel is assessed in full rather than held for want of a rate.
    last = ExchangeRate.objects.latest("date").date
    today = timezone.localdate()
    ExchangeRate.objects.bulk_create(
        [
            ExchangeRate(date=today, base=r.base, currency=r.currency, rate=r.rate)
            for r in ExchangeRate.objects.filter(date=last)
        ],
        ignore_conflicts=True,
    )
    owner, _created = User.objects.get_or_create(email="bench@bench.invalid")
    organisation = Organisation.objects.filter(name="Bench platform").first()
    if organisation is None:
        organisation = organisation_create(
            name="Bench platform", kind=Organisation.Kind.PLATFORM, owner=owner, by=None
        )
    _key, secret = apikey_create(organisation=organisation, name="bench", by=owner)
    return organisation, secret


def start_gunicorn(port: int, workers: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "clearance.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--timeout",
            "300",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=dict(os.environ),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/schema/", timeout=5)
            return process
        except OSError:
            time.sleep(0.3)
    process.terminate()
    raise SystemExit("gunicorn did not start")


def post(url: str, key: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(  # noqa: S310
        url,
        data=json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "Idempotency-Key": secrets.token_hex(16),
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310
        result: dict[str, object] = json.loads(response.read())
        return result


def file_by_api(port: int, key: str, run: str, count: int, batch: int, clients: int) -> float:
    batches = [
        [declaration(run, n) for n in range(start, min(start + batch, count))]
        for start in range(0, count, batch)
    ]
    url = f"http://127.0.0.1:{port}/api/v1/declarations/batch/"
    failures: list[str] = []
    queue = list(enumerate(batches))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                if not queue:
                    return
                _index, items = queue.pop(0)
            answer = post(url, key, {"declarations": items, "submit": True})
            if answer.get("failed"):
                failures.append(json.dumps(answer)[:500])

    threads = [threading.Thread(target=work) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"batches had errors: {failures[0]}")
    return elapsed


def copy_baseline(organisation: Organisation, run: str) -> float:
    """COPY the same declaration and line rows into tables shaped like ours (with their
    indexes and unique constraints), in one transaction."""
    decl_columns = [
        "organisation_id",
        "reference",
        "system_reference",
        "transport_mode",
        "transport_document",
        "carrier",
        "marketplace",
        "order_reference",
        "purpose",
        "seller_name",
        "seller_address",
        "seller_country",
        "consignee_name",
        "consignee_address",
        "consignee_country",
        "consignee_id_number",
        "arrival_office",
        "currency",
        "shipping_cost",
        "insurance_cost",
        "tax_collected_at_sale",
        "vendor_tax_id",
        "status",
        "lane",
        "version",
        "created_at",
        "updated_at",
    ]
    line_columns = [
        "declaration_id",
        "number",
        "description",
        "hs_code",
        "quantity",
        "unit",
        "value",
        "origin_country",
        "gross_mass_kg",
        "product_url",
    ]
    rows = Declaration.objects.filter(reference__startswith=f"{run}-").values_list(
        *[c.removesuffix("_id") if c == "organisation_id" else c for c in decl_columns]
    )
    lines = Line.objects.filter(declaration__reference__startswith=f"{run}-").values_list(
        "declaration_id", *line_columns[1:]
    )
    decl_csv, line_csv = io.StringIO(), io.StringIO()
    # Every value quoted: COPY reads a quoted empty value as "", an unquoted one as NULL.
    csv.writer(decl_csv, quoting=csv.QUOTE_ALL).writerows(rows)
    csv.writer(line_csv, quoting=csv.QUOTE_ALL).writerows(lines)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_declaration, bench_line")
        cursor.execute(
            "CREATE TABLE bench_declaration (LIKE declarations_declaration INCLUDING ALL)"
        )
        cursor.execute("CREATE TABLE bench_line (LIKE declarations_line INCLUDING ALL)")
    decl_csv.seek(0)
    line_csv.seek(0)
    raw = connection.connection
    started = time.perf_counter()
    with raw.cursor() as cursor:
        cursor.copy_expert(
            f"COPY bench_declaration ({', '.join(decl_columns)}) FROM STDIN WITH (FORMAT csv)",
            decl_csv,
        )
        # Lines point at the copied declarations' ids, as a loader would after COPY.
        cursor.copy_expert(
            f"COPY bench_line ({', '.join(line_columns)}) FROM STDIN WITH (FORMAT csv)",
            line_csv,
        )
    raw.commit()
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_declaration, bench_line")
    return elapsed


def csv_memory(organisation: Organisation, lines: int) -> tuple[float, float, int]:
    """Check and import a CSV file of ``lines`` rows in a worker process; its peak RSS."""
    run = f"CSV{secrets.token_hex(3)}"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=csvfiles.COLUMNS)
    writer.writeheader()
    first, second = list(csv.DictReader(io.StringIO(csvfiles.template())))
    for row in range(lines):
        n, position = divmod(row, 3)
        data = dict(first if position == 0 else second)
        data["reference"] = f"{run}-{n:06d}"
        data["consignee_id_number"] = f"{run}{n:08d}"
        writer.writerow(data)
    from django.core.files.base import ContentFile

    content = ContentFile(out.getvalue().encode(), name="bench.csv")
    del out
    upload = csvfiles.upload_create(organisation=organisation, file=content, by=None, api_key=None)
    del content
    child = (
        "import resource, sys, time, django; django.setup()\n"
        "from declarations import csvfiles, tasks\n"
        "from declarations.models import CsvUpload\n"
        "from clearance.actors import Actor\n"
        "pk = int(sys.argv[1])\n"
        "tasks.check_csv_upload(pk)\n"
        "upload = CsvUpload.objects.get(pk=pk)\n"
        "csvfiles.upload_confirm(upload=upload, only_valid=False, actor=Actor())\n"
        "started = time.perf_counter()\n"
        "tasks.import_csv_upload(pk)\n"
        "print(time.perf_counter() - started)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", child, str(upload.pk)],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=True,
    )
    total = time.perf_counter() - started
    import_seconds, peak_kb = result.stdout.split()[-2:]
    upload.refresh_from_db()
    if upload.state != CsvUpload.State.IMPORTED:
        raise SystemExit(f"the CSV import ended {upload.state}: {upload.failure}")
    upload.file.delete(save=False)
    return total, float(import_seconds), int(peak_kb) // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--declarations", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--clients", type=int, default=2, help="concurrent API clients")
    parser.add_argument("--csv-lines", type=int, default=100_000)
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    args = parser.parse_args()

    if not args.port:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            args.port = sock.getsockname()[1]
    organisation, key = prepare()
    run = f"R{secrets.token_hex(3)}"
    server = start_gunicorn(args.port, args.workers)
    try:
        post(
            f"http://127.0.0.1:{args.port}/api/v1/declarations/batch/",
            key,
            {"declarations": [declaration(f"W{run}", 0)], "submit": True},
        )
        seconds = file_by_api(args.port, key, run, args.declarations, args.batch, args.clients)
    finally:
        server.terminate()
        server.wait(timeout=30)

    mine = Declaration.objects.filter(reference__startswith=f"{run}-")
    stored = {
        "declarations": mine.count(),
        "lines": Line.objects.filter(declaration__in=mine).count(),
        "versions": DeclarationVersion.objects.filter(declaration__in=mine).count(),
        "status changes": StatusChange.objects.filter(declaration__in=mine).count(),
        "history rows": Declaration.history.filter(reference__startswith=f"{run}-").count(),
        "held (not assessed)": DeclarationVersion.objects.filter(
            declaration__in=mine, held=True
        ).count(),
    }
    copy_seconds = copy_baseline(organisation, run)
    rate = args.declarations / seconds
    copy_rate = args.declarations / copy_seconds
    print(f"stored: {stored}")
    print(
        f"API batch filing : {rate:8.0f} declarations/s "
        f"({args.declarations} x 3 lines in {seconds:.1f} s, batches of {args.batch}, "
        f"{args.workers} gunicorn workers, {args.clients} clients; goal {GOAL_PER_SECOND}/s)"
    )
    print(
        f"PostgreSQL COPY  : {copy_rate:8.0f} declarations/s "
        f"(the same declaration and line rows, no history or assessment, "
        f"{copy_seconds:.2f} s); API is {copy_rate / rate:.1f}x slower"
    )
    if args.csv_lines:
        total, import_seconds, peak_mb = csv_memory(organisation, args.csv_lines)
        print(
            f"CSV {args.csv_lines} lines: checked and imported in {total:.1f} s "
            f"(import {import_seconds:.1f} s); worker peak memory {peak_mb} MB "
            f"(goal under {MEMORY_GOAL_MB} MB)"
        )


if __name__ == "__main__":
    main()
