import datetime

import pytest
from django.core.management import call_command

from clearance import regimes
from clearance.models import ExchangeRate, Regime, TariffRate
from clearance.presets import load_presets
from clearance.regime_rules import regime_in_force

pytestmark = pytest.mark.django_db


def test_every_apec_economy_gets_a_preset_with_its_source_and_certainty():
    created = load_presets()
    assert created == 22  # 21 economies, the United States with two periods
    assert Regime.objects.values("economy").distinct().count() == 21
    canada = Regime.objects.get(economy="CA")
    assert (canada.source, canada.certainty) == ("CBSA Customs Notice 20-18", "high")
    assert Regime.objects.get(economy="PG").certainty == "none"
    assert all(r.history.count() == 1 for r in Regime.objects.all())


def test_loading_the_presets_again_leaves_an_administrators_changes_alone():
    call_command("load_regime_presets")
    Regime.objects.filter(economy="KR").update(duty_free_up_to=170)
    assert load_presets() == 0
    assert Regime.objects.get(economy="KR").duty_free_up_to == 170


def test_the_united_states_regime_changes_on_the_day_de_minimis_was_suspended():
    load_presets()
    before = regime_in_force("US", datetime.date(2025, 8, 28))
    after = regime_in_force("US", datetime.date(2025, 8, 29))
    assert before is not None and before.duty_free_up_to == 800
    assert after is not None and after.duty_free_up_to == 0


def test_the_demo_data_loads_twice_to_the_same_rows():
    regimes.load_demo()
    counts = (Regime.objects.count(), ExchangeRate.objects.count(), TariffRate.objects.count())
    regimes.load_demo()
    assert (
        Regime.objects.count(),
        ExchangeRate.objects.count(),
        TariffRate.objects.count(),
    ) == counts
    assert counts[1] > 10000 and counts[2] == 8
