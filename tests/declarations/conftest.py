import pytest

from declarations import services
from tests.factories import OrganisationFactory


@pytest.fixture
def other_organisation(db):
    return OrganisationFactory(name="Other Shop")


@pytest.fixture
def api_key(organisation, owner):
    key, secret = services.apikey_create(organisation=organisation, name="Shop system", by=owner)
    key.secret = secret
    return key
