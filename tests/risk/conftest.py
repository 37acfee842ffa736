import pytest

from tests.conftest import rates_for_today


@pytest.fixture
def regime(db):
    rates_for_today()
