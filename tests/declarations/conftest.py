import pytest

from clearance.services import apikey_create
from declarations import services
from tests.declarations.helpers import client_for, declaration_data
from tests.factories import OrganisationFactory


@pytest.fixture
def other_organisation(db):
    return OrganisationFactory(name="Other Shop")


@pytest.fixture
def api_key(organisation, owner):
    key, secret = apikey_create(organisation=organisation, name="Shop system", by=owner)
    key.secret = secret
    return key


@pytest.fixture
def api(api_key):
    """The organisation's system, calling the API with its key."""
    return client_for(api_key.secret)


@pytest.fixture
def stranger(other_organisation):
    """Another organisation's system, with a key of its own."""
    _key, secret = apikey_create(organisation=other_organisation, name="x", by=None)
    return client_for(secret)


@pytest.fixture
def declaration(organisation, actor):
    """A draft declaration of the organisation."""
    return services.declaration_create(
        organisation=organisation, data=declaration_data(), submit=False, actor=actor
    )
