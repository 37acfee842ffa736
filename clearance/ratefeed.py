"""The exchange-rate feed: fetch the configured source and import it.

Beat runs ``clearance.fetch_exchange_rates`` every hour (``clearance/celery.py``); it fetches
``EXCHANGE_RATE_FEED_URL`` and imports it with ``exchange_rates.rates_import``, which records the
source and the time on every row and, after commit, has held declarations assessed again.

What it reads:

- the ECB's euro reference rates: the daily file (``eurofxref.zip``, one row dated
  ``01 December 2026``) and the history file (``eurofxref-hist.zip``, every day since 1999,
  dated ``2026-12-01``), zipped as the ECB serves them or as plain CSV;
- a plain ``date,currency,rate`` CSV (optionally with a ``base`` column), which is how an
  administration publishes its own customs rates (weekly in Korea, quarterly in the United
  States): units of ``currency`` per one ``EXCHANGE_RATE_FEED_BASE``.

The default is the ECB's history file, because it fills any gap a missed day left: only rows
from two weeks before the newest stored rate on are imported, so a fetch stores a few hundred
rows, not a quarter of a million. A conditional request (the last answer's ``ETag`` and
``Last-Modified``, kept in the cache) makes an unchanged file cost one short answer.
"""

import datetime
import io
import logging
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import Max
from django.utils.translation import gettext as _

from clearance import exchange_rates
from clearance.errors import ServiceError
from clearance.models import ExchangeRate

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 30
MAX_BYTES = 20 * 1024 * 1024  # the ECB's whole history, unzipped, is under 2 MB
OVERLAP = datetime.timedelta(days=14)
USER_AGENT = "low-value-clearance-portal rate feed"


@dataclass(frozen=True)
class FeedResult:
    source: str
    stored: int
    newest: datetime.date | None
    unchanged: bool = False


def _cache_key(url: str) -> str:
    return f"ratefeed:validators:{url}"


def fetch(url: str) -> tuple[bytes | None, dict[str, str]]:
    """The body at ``url`` (None when the server says it has not changed since the last fetch)
    and the validators to send next time. Network failures raise ``OSError`` (retried by the
    task); an address that is not HTTP(S) raises ``ServiceError``."""
    if not url.startswith(("https://", "http://")):
        raise ServiceError(
            _("The exchange-rate feed must be an http:// or https:// address."), field="url"
        )
    headers = {"User-Agent": USER_AGENT}
    known: dict[str, str] = cache.get(_cache_key(url)) or {}
    if "etag" in known:
        headers["If-None-Match"] = known["etag"]
    if "last_modified" in known:
        headers["If-Modified-Since"] = known["last_modified"]
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (checked above)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            body: bytes = response.read(MAX_BYTES + 1)
            validators = {
                name: value
                for name, value in (
                    ("etag", response.headers.get("ETag")),
                    ("last_modified", response.headers.get("Last-Modified")),
                )
                if value
            }
    except urllib.error.HTTPError as error:
        if error.code == 304:
            return None, known
        raise
    if len(body) > MAX_BYTES:
        raise ServiceError(_("The exchange-rate file is larger than 20 MB."), field="url")
    return body, validators


def unpack(body: bytes) -> str:
    """The CSV text of a fetched file: the one CSV inside a zip, or the file itself."""
    if body.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
            if len(names) != 1:
                raise ServiceError(
                    _("The zip file must hold exactly one CSV file."), field="url", code="zip"
                )
            body = archive.read(names[0])
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ServiceError(_("The exchange-rate file is not UTF-8 text."), field="url") from None


def feed_import(url: str | None = None, *, base: str | None = None) -> FeedResult:
    """Fetch the feed and store its rates from two weeks before the newest stored rate on
    (all of them on a first fetch). Safe to run as often as wanted."""
    url = url or settings.EXCHANGE_RATE_FEED_URL
    body, validators = fetch(url)
    if body is None:
        log.info("exchange-rate feed %s: not modified", url)
        return FeedResult(source=url, stored=0, newest=None, unchanged=True)
    newest_stored = ExchangeRate.objects.filter(carried_from__isnull=True).aggregate(
        newest=Max("date")
    )["newest"]
    since = newest_stored - OVERLAP if newest_stored else None
    stored, newest = exchange_rates.rates_import(
        io.StringIO(unpack(body), newline=""),
        source=url,
        base=base or settings.EXCHANGE_RATE_FEED_BASE,
        since=since,
    )
    # Remember the validators only once the file is stored: a failed import fetches again.
    cache.set(_cache_key(url), validators, timeout=None)
    log.info("exchange-rate feed %s: %s rates stored, newest %s", url, stored, newest)
    return FeedResult(source=url, stored=stored, newest=newest)
