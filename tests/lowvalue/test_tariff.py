import datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from clearance.assessment import tariff_for
from clearance.assessment_types import TariffLine
from clearance.models import TariffRate
from clearance.tariff import tariff_in_force

pytestmark = pytest.mark.django_db

CSV = """economy,hs_prefix,rate,specific_amount,effective_from,effective_to,description
KR,85,8,0,2020-01-01,,Electrical machinery
KR,8518,5,0,2020-01-01,2026-06-30,Headphones
KR,851830,0,0,2020-01-01,,Headphones and earphones
KR,8518,3,0,2026-07-01,,Headphones from July
KR,6109,13,250,2020-01-01,,T-shirts plus 250 per item
"""


def load(tmp_path, text=CSV):
    path = tmp_path / "tariff.csv"
    path.write_text(text)
    call_command("import_tariff", str(path))


def test_the_longest_prefix_wins():
    rows = [TariffLine("85", Decimal(8)), TariffLine("8518", Decimal(5)), TariffLine("851830", 0)]
    assert tariff_for("851830", rows).hs_prefix == "851830"
    assert tariff_for("851810", rows).hs_prefix == "8518"
    assert tariff_for("850440", rows).hs_prefix == "85"
    assert tariff_for("610910", rows) is None


def test_the_tariff_in_force_depends_on_the_date(tmp_path):
    load(tmp_path)
    june = {r.hs_prefix: r.rate for r in tariff_in_force("KR", datetime.date(2026, 6, 30))}
    july = {r.hs_prefix: r.rate for r in tariff_in_force("KR", datetime.date(2026, 7, 1))}
    assert june["8518"] == Decimal(5)
    assert july["8518"] == Decimal(3)
    assert tariff_in_force("KR", datetime.date(2019, 12, 31)) == []


def test_importing_again_replaces_rows_instead_of_adding(tmp_path):
    load(tmp_path)
    load(tmp_path, CSV.replace("KR,85,8,", "KR,85,9,"))
    assert TariffRate.objects.count() == 5
    assert TariffRate.objects.get(hs_prefix="85").rate == Decimal(9)
    assert TariffRate.objects.get(hs_prefix="6109").specific_amount == Decimal(250)


def test_a_bad_prefix_refuses_the_file(tmp_path):
    with pytest.raises(CommandError, match="Line 2"):
        load(
            tmp_path,
            "economy,hs_prefix,rate,specific_amount,effective_from\nKR,851,8,0,2020-01-01\n",
        )
    assert not TariffRate.objects.exists()
