"""The sandbox gateway: a hosted page that calls the portal back over real HTTP."""

from urllib.parse import urlsplit

import pytest

from declarations.models import Status
from refunds import payments
from refunds.models import Payment
from tests.refunds.helpers import due_declaration


def test_a_forged_checkout_token_gets_404(client, db):
    assert client.get("/sandbox-gateway/checkout/?token=forged").status_code == 404


def test_the_gateway_is_closed_when_another_provider_is_configured(
    client, organisation, actor, settings
):
    _payment, url = payments.payment_start(declaration=due_declaration(organisation), actor=actor)
    assert client.get(url).status_code == 200
    settings.PAYMENT_PROVIDER = "stripe"
    assert client.get(url).status_code == 404
    assert client.post(url, {"pay": "1"}).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_cancelling_on_the_gateway_fails_the_payment_and_paying_again_settles(
    client, live_server, organisation, actor
):
    server = urlsplit(live_server.url)
    on_live_server = {"SERVER_NAME": server.hostname, "SERVER_PORT": str(server.port)}
    declaration = due_declaration(organisation)

    first, url = payments.payment_start(declaration=declaration, actor=actor)
    back = client.post(url, {"cancel": "1"}, **on_live_server)
    assert back["Location"] == f"/payments/{first.pk}/"
    assert Payment.objects.get(pk=first.pk).status == "failed"

    second, url = payments.payment_start(declaration=declaration, actor=actor)
    client.post(url, {"pay": "1"}, **on_live_server)

    assert Payment.objects.get(pk=second.pk).status == "settled"
    declaration.refresh_from_db()
    assert declaration.status == Status.RELEASED
