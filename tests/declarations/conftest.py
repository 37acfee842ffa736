import pytest

from declarations import services
from declarations.services import Actor
from tests.factories import OrganisationFactory


@pytest.fixture
def organisation(db):
    return OrganisationFactory(name="Lee Goods")


@pytest.fixture
def owner(organisation):
    return organisation.owner


@pytest.fixture
def other_organisation(db):
    return OrganisationFactory(name="Other Shop")


@pytest.fixture
def actor(owner):
    return Actor(user=owner)


@pytest.fixture
def api_key(organisation, owner):
    key, secret = services.apikey_create(organisation=organisation, name="Shop system", by=owner)
    key.secret = secret
    return key
