"""The sandbox gateway: a hosted page that calls the portal back over real HTTP."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from declarations.models import Status
from refunds import payments
from refunds.models import Payment
from tests.conftest import free_port
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
    client, live_server, organisation, actor, settings
):
    settings.SITE_URL = live_server.url
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


class Listener(BaseHTTPRequestHandler):
    """Anything listening where a forged ``Host`` would point; it records what it is sent."""

    received: list[bytes] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        Listener.received.append(self.rfile.read(length))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.django_db(transaction=True)
def test_the_callback_goes_to_the_portal_whatever_the_host_header_says(
    client, live_server, organisation, actor, settings
):
    settings.SITE_URL = live_server.url
    listener = ThreadingHTTPServer(("127.0.0.1", free_port()), Listener)
    Listener.received = []
    threading.Thread(target=listener.serve_forever, daemon=True).start()
    try:
        payment, url = payments.payment_start(
            declaration=due_declaration(organisation), actor=actor
        )
        forged = {"SERVER_NAME": "127.0.0.1", "SERVER_PORT": str(listener.server_port)}

        client.post(url, {"pay": "1"}, **forged)

        assert Listener.received == []
        assert Payment.objects.get(pk=payment.pk).status == "settled"
    finally:
        listener.shutdown()
        listener.server_close()


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_portal_is_told_to_the_payer_and_settles_nothing(
    client, organisation, actor, settings
):
    settings.SITE_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    payment, url = payments.payment_start(declaration=due_declaration(organisation), actor=actor)

    response = client.post(url, {"pay": "1"})

    assert response.status_code == 502
    assert "could not reach the portal" in response.content.decode()
    assert Payment.objects.get(pk=payment.pk).status == "pending"
