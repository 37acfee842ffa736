import pytest

from clearance.services import apikey_create
from tests.factories import OrganisationFactory


@pytest.fixture
def other_organisation(db):
    return OrganisationFactory(name="Other Shop")


@pytest.fixture
def api_key(organisation, owner):
    key, secret = apikey_create(organisation=organisation, name="Shop system", by=owner)
    key.secret = secret
    return key
