"""Webhooks delivered by a real Celery worker to a local receiver that checks every request
with the ``standardwebhooks`` library: signed, retried after failures, never posted again once
acknowledged, sent again by hand from the browser, and an endpoint that keeps failing is
disabled and its owner emailed. On the real clock: nothing here freezes time."""

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from clearance.celery import app as celery_app
from declarations import webhook_delivery
from declarations.models import Declaration, WebhookDelivery, WebhookEndpoint
from tests.conftest import (
    Worker,
    assert_accessible,
    free_port,
    queue_busy,
    rates_for_today,
    sign_in,
    wait_for,
    worker_env,
)
from tests.declarations.helpers import declaration_data

pytestmark = pytest.mark.django_db(transaction=True)

# Waits between attempts for these tests: four attempts in about three seconds.
SCHEDULE = "1,1,1"


class Receiver:
    """A platform's endpoint on loopback: checks each request's signature with the secret it
    was given, answers from ``answers`` (then 204), and keeps what it got."""

    def __init__(self, answers: list[int]) -> None:
        self.answers = list(answers)
        self.secret = ""
        self.received: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    payload = Webhook(receiver.secret).verify(body, dict(self.headers.items()))
                    verified = True
                except WebhookVerificationError:
                    payload, verified = json.loads(body), False
                with receiver.lock:
                    code = receiver.answers.pop(0) if receiver.answers else 204
                    receiver.received.append(
                        {
                            "id": self.headers["webhook-id"],
                            "verified": verified,
                            "payload": payload,
                            "answered": code,
                        }
                    )
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/clearance"

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def webhook_worker(django_db_setup, django_db_blocker, smtp_server, tmp_path_factory):
    """A real worker whose environment shortens the retry schedule, on a queue of its own so
    that the session's worker (with the default schedule) never takes these sends."""
    host, port, _box = smtp_server
    queue = f"clearance-webhooks-{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        env = worker_env(
            CELERY_QUEUE=queue,
            WEBHOOK_RETRY_SCHEDULE=SCHEDULE,
            EMAIL_HOST=host,
            EMAIL_PORT=str(port),
        )
    worker = Worker(env, tmp_path_factory.mktemp("webhooks") / "worker.log")
    worker.start()
    yield queue
    worker.stop()


@pytest.fixture
def worker(webhook_worker, settings):
    # As in development: the receiver is http on loopback (the worker runs with DEBUG on).
    settings.DEBUG = True
    settings.WEBHOOK_RETRY_SCHEDULE = [int(s) for s in SCHEDULE.split(",")]
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = webhook_worker
    yield
    wait_for(lambda: not queue_busy(webhook_worker), timeout=120)
    celery_app.conf.task_default_queue = previous


@pytest.fixture
def receiver():
    found = Receiver([500, 500, 500])
    yield found
    found.stop()


def beat() -> bool:
    """What beat does every few seconds: relay new events, queue the due sends."""
    webhook_delivery.relay()
    webhook_delivery.sweep()
    return False


def add_endpoint(api, receiver: Receiver, types: list[str]) -> dict[str, Any]:
    response = api.post(
        "/api/v1/webhooks/", {"url": receiver.url, "event_types": types}, format="json"
    )
    assert response.status_code == 201, response.content
    made: dict[str, Any] = response.json()
    receiver.secret = made["secret"]
    return made


def submit_by_api(api) -> Declaration:
    response = api.post("/api/v1/declarations/", {**declaration_data(), "submit": True}, "json")
    assert response.status_code == 201, response.content
    return Declaration.objects.get(pk=response.json()["id"])


def test_a_change_is_delivered_signed_retried_after_three_500s_and_never_twice(
    worker, api, receiver
):
    rates_for_today()
    endpoint = add_endpoint(api, receiver, ["declaration.submitted"])
    declaration = submit_by_api(api)

    # The submission nudges the relay; retries come from the sweep, as beat runs it.
    wait_for(lambda: beat() or receiver.count() >= 4, timeout=60, interval=0.5)
    delivery = wait_for(
        lambda: WebhookDelivery.objects.filter(state=WebhookDelivery.State.DELIVERED).first()
    )
    got = receiver.received
    assert [r["answered"] for r in got] == [500, 500, 500, 204]
    assert all(r["verified"] for r in got)
    assert {r["id"] for r in got} == {f"msg_{delivery.pk}"}
    payload = got[-1]["payload"]
    assert payload["type"] == "declaration.submitted"
    assert payload["data"]["declaration"]["id"] == declaration.pk
    assert payload["data"]["declaration"]["system_reference"] == declaration.system_reference
    assert delivery.endpoint_id == endpoint["id"] and delivery.attempts == 4
    codes = [a.status_code for a in delivery.attempt_log.order_by("at", "id")]
    assert codes == [500, 500, 500, 204]

    # Acknowledged: however often the relay, the sweep or a stray send runs, nothing more.
    for _ in range(4):
        beat()
        assert webhook_delivery.send(delivery.pk) is None
        time.sleep(0.5)
    assert receiver.count() == 4
    assert WebhookDelivery.objects.count() == 1
    listed = api.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries/").json()["results"]
    assert [(d["id"], d["state"], d["attempts"]) for d in listed] == [(delivery.pk, "delivered", 4)]


def test_an_endpoint_that_keeps_failing_is_disabled_and_its_owner_emailed(
    worker, api, owner, mailbox
):
    rates_for_today()
    failing = Receiver([500] * 10)
    try:
        made = add_endpoint(api, failing, ["declaration.submitted"])
        submit_by_api(api)
        wait_for(
            lambda: beat() or not WebhookEndpoint.objects.get(pk=made["id"]).active,
            timeout=60,
            interval=0.5,
        )
    finally:
        failing.stop()
    assert failing.count() == 4
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == WebhookDelivery.State.FAILED
    endpoint = api.get(f"/api/v1/webhooks/{made['id']}/").json()
    assert endpoint["active"] is False and "4 attempts" in endpoint["disabled_reason"]
    # The owner hears of other things too (a release, say): this one names the endpoint.
    [message] = wait_for(
        lambda: [m for m in mailbox.to(owner.email) if failing.url in str(m["Subject"])]
    )
    assert f"/declarations/webhooks/{made['id']}/" in mailbox.text(message)
    # Disabled, it is sent nothing; enabled again by its owner, it is used again.
    assert api.patch(f"/api/v1/webhooks/{made['id']}/", {"active": True}, format="json").json()[
        "active"
    ]


@pytest.mark.browser
def test_the_owner_reads_the_delivery_log_and_redelivers_from_the_browser(
    worker, api, owner, receiver, page: Page, live_server
):
    rates_for_today()
    receiver.answers = []
    made = add_endpoint(api, receiver, ["declaration.submitted"])
    submit_by_api(api)
    wait_for(lambda: beat() or receiver.count() >= 1, timeout=60, interval=0.5)
    delivery = wait_for(
        lambda: WebhookDelivery.objects.filter(state=WebhookDelivery.State.DELIVERED).first()
    )

    base = live_server.url
    sign_in(page, base, owner.email)
    page.goto(base + "/declarations/api-keys/")
    page.get_by_role("link", name="Webhook endpoints").click()
    assert_accessible(page)
    page.get_by_role("link", name=receiver.url).click()
    expect(page.locator("h1")).to_have_text("Webhook endpoint")
    expect(page.locator(".webhook-attempt")).to_have_count(1)
    assert_accessible(page)

    page.get_by_role("button", name=f"Redeliver msg_{delivery.pk}").click()
    expect(page.locator(".usa-alert, .portal-messages").first).to_be_visible()
    wait_for(lambda: receiver.count() >= 2, timeout=30)
    again = receiver.received[-1]
    assert again["verified"] and again["id"] == f"msg_{delivery.pk}"
    attempt = wait_for(lambda: delivery.attempt_log.filter(manual=True).first())
    assert attempt.by == owner and attempt.status_code == 204
    page.reload()
    expect(page.locator(".webhook-attempt")).to_have_count(2)
    expect(page.locator(".webhook-attempt").last).to_contain_text("sent again by")

    # Adding an endpoint in the browser: the form and the page that shows the secret once.
    page.goto(base + "/declarations/webhooks/new/")
    assert_accessible(page)
    page.locator("#id_url").fill("http://127.0.0.1:9/other")
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.locator(".usa-error-message").first).to_be_visible()
    assert_accessible(page)
    # The design system's checkbox is its label: a person clicks that.
    page.locator("label.usa-checkbox__label", has_text="refund.paid").click()
    expect(page.get_by_label("refund.paid")).to_be_checked()
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.locator("#webhook-secret")).to_have_text(
        WebhookEndpoint.objects.exclude(pk=made["id"]).get().secret
    )
    assert_accessible(page)
