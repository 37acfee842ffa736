"""The exchange-rate feed: the ECB's daily and history files and an administration's own file,
fetched over HTTP from a local server, stored once with their source and fetch time."""

import datetime
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.management import call_command

from clearance import ratefeed
from clearance.celery import app
from clearance.errors import ServiceError
from clearance.exchange_rates import (
    ECB_DEMO_FILE,
    import_exchange_rates,
    quote_in_force,
    rate_in_force,
)
from clearance.models import ExchangeRate, Regime
from clearance.presets import load_presets
from clearance.regime_rules import regime_in_force
from tests.ratefeed_server import ecb_daily_zip, ecb_history_zip

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 12, 1)


@pytest.fixture(autouse=True)
def forget_validators():
    cache.clear()


def test_the_ecb_daily_file_is_read_in_its_own_layout(rate_feed):
    url = rate_feed.publish("/daily.zip", ecb_daily_zip(DAY, {"USD": "1.1650", "KRW": "1712.35"}))

    result = ratefeed.feed_import(url)

    assert (result.stored, result.newest) == (30, DAY)
    usd = ExchangeRate.objects.get(date=DAY, currency="USD")
    assert (usd.base, usd.rate, usd.carried_from) == ("EUR", Decimal("1.1650"), None)
    assert usd.source == f"ECB: {url}"
    assert usd.fetched_at is not None
    assert rate_in_force("USD", "KRW", DAY) == Decimal("1712.35") / Decimal("1.1650")


def test_the_history_file_fills_a_gap_and_skips_what_is_long_stored(rate_feed):
    import_exchange_rates(ECB_DEMO_FILE)  # stored up to 2026-04-13
    days = [
        (datetime.date(2026, 3, 2), {"USD": "1.0000", "KRW": "1000"}),  # long stored: skipped
        (datetime.date(2026, 4, 14), {"USD": "1.1700", "KRW": "1720"}),
        (datetime.date(2026, 4, 15), {"USD": "1.1710", "KRW": "1721"}),
    ]
    url = rate_feed.publish("/hist.zip", ecb_history_zip(days))

    result = ratefeed.feed_import(url)

    assert result.newest == datetime.date(2026, 4, 15)
    assert ExchangeRate.objects.get(date=datetime.date(2026, 4, 15), currency="KRW").rate == 1721
    assert not ExchangeRate.objects.filter(currency="CYP").exists()  # N/A throughout
    march = ExchangeRate.objects.get(date=datetime.date(2026, 3, 2), currency="USD")
    assert march.rate != Decimal("1.0000")  # the bundled rate, not the stale row of the file


def test_fetching_twice_stores_the_same_rows_and_an_unchanged_file_costs_one_short_answer(
    rate_feed,
):
    url = rate_feed.publish("/again.zip", ecb_daily_zip(DAY, {"USD": "1.1650"}))
    ratefeed.feed_import(url)
    rows = list(ExchangeRate.objects.order_by("pk").values_list("currency", "date", "rate"))

    second = ratefeed.feed_import(url)

    assert second.unchanged and second.stored == 0
    assert rate_feed.requests[-1][1].get("If-None-Match")
    cache.clear()  # without the validators the file is fetched and stored again, identically
    assert ratefeed.feed_import(url).stored == 30
    assert list(ExchangeRate.objects.order_by("pk").values_list("currency", "date", "rate")) == (
        rows
    )


def test_an_administrations_own_rates_in_a_plain_file(rate_feed, settings):
    settings.EXCHANGE_RATE_FEED_BASE = "KRW"
    body = b"date,currency,rate\n2026-11-30,USD,0.000676\n"
    rate_feed.publish("/customs-rates.csv", body)

    call_command("fetch_exchange_rates", "--url", rate_feed.url("/customs-rates.csv"))

    stored = ExchangeRate.objects.get()
    assert (stored.base, stored.currency, stored.date) == (
        "KRW",
        "USD",
        datetime.date(2026, 11, 30),
    )
    assert stored.source == rate_feed.url("/customs-rates.csv")
    assert rate_in_force("USD", "KRW", DAY) == 1 / Decimal("0.000676")


def test_a_bad_file_is_refused_whole_with_the_line(rate_feed):
    url = rate_feed.publish("/bad.csv", b"date,currency,rate\n2026-11-30,USD,1.1\nnot-a-date,X,1\n")

    with pytest.raises(ServiceError, match="Line 3"):
        ratefeed.feed_import(url)

    assert not ExchangeRate.objects.exists()


def test_an_unreachable_feed_raises_for_the_task_to_retry(rate_feed):
    with pytest.raises(OSError):
        ratefeed.feed_import(rate_feed.url("/missing.zip"))


def test_how_long_a_rate_stays_in_force_is_the_regimes(rate_feed):
    load_presets()
    friday = datetime.date(2026, 11, 27)
    ratefeed.feed_import(rate_feed.publish("/fri.zip", ecb_daily_zip(friday, {"KRW": "1700"})))
    kr = Regime.objects.get(economy="KR")
    assert kr.exchange_rate_days == 7  # weekly customs rates
    us = regime_in_force("US", DAY)
    assert us is not None and us.exchange_rate_days == 92  # quarterly

    parcel_day = friday + datetime.timedelta(days=6)
    assert quote_in_force("USD", "KRW", parcel_day, days=7) is not None
    assert quote_in_force("USD", "KRW", parcel_day + datetime.timedelta(1), days=7) is None
    assert quote_in_force("USD", "KRW", friday + datetime.timedelta(days=4), days=4) is None


def test_the_beat_schedule_fetches_the_feed_every_hour():
    [entry] = [e for e in app.conf.beat_schedule.values() if "fetch_exchange" in e["task"]]
    assert entry["task"] == "clearance.fetch_exchange_rates"
    assert entry["schedule"].minute == {15}
