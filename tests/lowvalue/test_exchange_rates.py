import datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from clearance.exchange_rates import ECB_DEMO_FILE, import_exchange_rates, rate_in_force
from clearance.models import ExchangeRate

pytestmark = pytest.mark.django_db

ECB = """Date,USD,JPY,CYP,KRW,
2026-04-13,1.1684,186.75,N/A,1740.86,
2026-04-10,1.1711,186.43,N/A,1737.06,
"""


@pytest.fixture
def ecb_file(tmp_path):
    path = tmp_path / "eurofxref-hist.csv"
    path.write_text(ECB)
    return path


def test_the_ecb_file_loads_every_quoted_rate_and_skips_not_available(ecb_file):
    call_command("import_exchange_rates", str(ecb_file))
    assert ExchangeRate.objects.count() == 6
    assert not ExchangeRate.objects.filter(currency="CYP").exists()
    assert ExchangeRate.objects.get(date="2026-04-10", currency="KRW").rate == Decimal("1737.06")


def test_importing_the_same_file_twice_leaves_the_same_rows(ecb_file):
    call_command("import_exchange_rates", str(ecb_file))
    call_command("import_exchange_rates", str(ecb_file))
    assert ExchangeRate.objects.count() == 6


def test_a_cross_rate_goes_through_the_euro(ecb_file):
    call_command("import_exchange_rates", str(ecb_file))
    rate = rate_in_force("USD", "KRW", datetime.date(2026, 4, 13))
    assert rate == Decimal("1740.86") / Decimal("1.1684")
    # From Japanese yen to euro: the inverse of the quoted rate.
    assert rate_in_force("JPY", "EUR", datetime.date(2026, 4, 13)) == 1 / Decimal("186.75")


def test_a_weekend_uses_the_last_published_rate_but_not_an_old_one(ecb_file):
    call_command("import_exchange_rates", str(ecb_file))
    saturday = datetime.date(2026, 4, 11)
    assert rate_in_force("USD", "KRW", saturday) == Decimal("1737.06") / Decimal("1.1711")
    assert rate_in_force("USD", "KRW", datetime.date(2026, 4, 21)) is None
    assert rate_in_force("USD", "KRW", datetime.date(2026, 4, 9)) is None


def test_a_plain_file_gives_units_of_currency_per_base(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("date,currency,rate\n2026-04-13,KRW,1475.5\n2026-04-13,KRW,1476\n")
    call_command("import_exchange_rates", str(path), "--base", "usd")
    [row] = ExchangeRate.objects.all()
    assert (row.base, row.currency, row.rate) == ("USD", "KRW", Decimal("1476"))
    assert rate_in_force("USD", "KRW", datetime.date(2026, 4, 14)) == Decimal("1476")


def test_a_bad_line_refuses_the_whole_file_and_names_the_line(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("date,currency,rate\n2026-04-13,KRW,1475.5\n2026-04-13,XXX,1\n")
    with pytest.raises(CommandError, match="Line 3"):
        call_command("import_exchange_rates", str(path))
    assert not ExchangeRate.objects.exists()


def test_the_shipped_ecb_file_loads(settings):
    count = import_exchange_rates(ECB_DEMO_FILE)
    assert count == ExchangeRate.objects.count() > 10000
    assert rate_in_force("USD", "KRW", datetime.date(2026, 4, 13)) is not None
