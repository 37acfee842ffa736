import pytest

from declarations.services import Actor
from tests.factories import OrganisationFactory


@pytest.fixture
def organisation(db):
    return OrganisationFactory(name="Lee Goods")


@pytest.fixture
def owner(organisation):
    return organisation.owner


@pytest.fixture
def actor(owner):
    return Actor(user=owner)


@pytest.fixture(autouse=True)
def payment_settings(settings):
    settings.PAYMENT_PROVIDER = "sandbox"
    settings.REFUND_AUTO_APPROVE_LIMIT = 50000
    settings.REFUND_AUTO_APPROVE_REASONS = ["returned"]
    settings.REFUND_SUPERVISOR_THRESHOLD = 1000000
    settings.REFUND_RETURN_PERIOD_DAYS = 183
