"""A made-up X-Forwarded-For changes nobody's limits; behind our own proxies each client still
counts by its own address, for the API throttles, the per-address limits and sign-in."""

import uuid

import pytest
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from clearance.limits import client_address
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def made_up() -> str:
    return f"203.0.113.{uuid.uuid4().int % 250}"


def an_address() -> str:
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.9"


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "1.1.1.1", "192.0.2.10"),  # no proxy of ours: the header is the client's own words
        (1, "1.1.1.1", "1.1.1.1"),
        (1, "6.6.6.6, 1.1.1.1", "1.1.1.1"),  # the client's own entry, left of ours, is ignored
        (2, "6.6.6.6, 1.1.1.1, 10.0.0.2", "1.1.1.1"),
        (3, "1.1.1.1", "1.1.1.1"),
        (1, "", "192.0.2.10"),
    ],
)
def test_the_client_is_whom_our_outermost_proxy_saw(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXIES = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.10", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


def test_a_made_up_header_does_not_get_round_the_open_data_limit(settings):
    settings.OPEN_DATA_API_RATE = "2/min"
    address = an_address()
    codes = [
        APIClient(REMOTE_ADDR=address, HTTP_X_FORWARDED_FOR=made_up())
        .get("/api/v1/consultations/")
        .status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 429, 429]


def test_a_made_up_header_does_not_get_round_the_tracking_limit(settings):
    settings.TRACKING_ATTEMPTS_PER_HOUR = 2
    address = an_address()
    codes = []
    for _ in range(3):
        client = Client(REMOTE_ADDR=address, HTTP_X_FORWARDED_FOR=made_up())
        form = {"transport_document": f"NOPE{uuid.uuid4().hex[:8]}", "id_last_four": "1234"}
        codes.append(client.post("/track/", form).status_code)
    assert codes == [404, 404, 429]


def test_behind_our_proxy_a_lockout_holds_one_client_not_everyone(settings):
    settings.TRUSTED_PROXIES = 1
    proxy = "10.0.0.1"
    user = UserFactory()

    def sign_in(client_ip: str, password: str) -> int:
        client = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=client_ip)
        form = {"username": user.email, "password": password}
        return client.post("/account/login/", form).status_code

    attacker = made_up()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(f"{made_up()}, {attacker}", "wrong")  # its own made-up entry changes nothing
    assert sign_in(attacker, PASSWORD) == 429
    # The officer signing in from elsewhere, through the same proxy, is not locked out.
    assert sign_in(an_address(), PASSWORD) == 302
