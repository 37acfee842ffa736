"""A local HTTP server that publishes exchange-rate files as the ECB and an administration do.

It serves whatever the test puts at a path, with an ``ETag`` and ``Last-Modified`` and a 304
answer to a matching conditional request, as the ECB's servers do. ``ecb_daily_zip`` and
``ecb_history_zip`` write the ECB's own layouts: the daily file's one row is dated
``01 December 2026`` with a space after every comma and a trailing one, the history file's rows
``2026-12-01``, newest first, ``N/A`` where a currency is not quoted.
"""

import datetime
import hashlib
import io
import threading
import zipfile
from collections.abc import Mapping, Sequence
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# The currencies of the ECB's daily file, in its order.
ECB_CURRENCIES = [
    "USD",
    "JPY",
    "BGN",
    "CZK",
    "DKK",
    "GBP",
    "HUF",
    "PLN",
    "RON",
    "SEK",
    "CHF",
    "ISK",
    "NOK",
    "TRY",
    "AUD",
    "BRL",
    "CAD",
    "CNY",
    "HKD",
    "IDR",
    "ILS",
    "INR",
    "KRW",
    "MXN",
    "MYR",
    "NZD",
    "PHP",
    "SGD",
    "THB",
    "ZAR",
]


def _zip(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


def ecb_daily_zip(day: datetime.date, rates: Mapping[str, str]) -> bytes:
    """``eurofxref.zip`` for one day; currencies not in ``rates`` get 1.0000."""
    header = "Date, " + ", ".join(ECB_CURRENCIES) + ", \n"
    when = f"{day.day:02d} {day.strftime('%B')} {day.year}"
    values = ", ".join(rates.get(code, "1.0000") for code in ECB_CURRENCIES)
    return _zip("eurofxref.csv", header + f"{when}, {values}, \n")


def ecb_history_zip(days: Sequence[tuple[datetime.date, Mapping[str, str]]]) -> bytes:
    """``eurofxref-hist.zip``: newest first; currencies a day does not quote are N/A."""
    codes = [*ECB_CURRENCIES, "CYP"]  # a currency the ECB no longer quotes: N/A throughout
    lines = ["Date," + ",".join(codes) + ","]
    for day, rates in sorted(days, key=lambda item: item[0], reverse=True):
        lines.append(day.isoformat() + "," + ",".join(rates.get(c, "N/A") for c in codes) + ",")
    return _zip("eurofxref-hist.csv", "\n".join(lines) + "\n")


class RateFeed:
    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with feed.lock:
                    feed.requests.append((self.path, dict(self.headers)))
                    found = feed.files.get(self.path)
                if found is None:
                    self.send_error(404)
                    return
                body, modified = found
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", modified)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def publish(self, path: str, body: bytes) -> str:
        with self.lock:
            self.files[path] = (body, formatdate(usegmt=True))
        return self.url(path)

    def start(self) -> "RateFeed":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
