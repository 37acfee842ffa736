"""Webhook endpoints: managed by API and in the browser, refused when their address is not a
public https one, kept to their organisation, and turned into deliveries by the relay."""

import pytest
from django.test import Client

from clearance.actors import Actor
from clearance.errors import ServiceError
from declarations import events, webhook_delivery, webhooks
from declarations.models import WebhookDelivery, WebhookEndpoint
from refunds.models import RefundStatus
from tests.declarations.helpers import submit
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db

HOOK = "https://hooks.example.test/clearance"


@pytest.fixture
def public_dns(monkeypatch):
    """Names resolve as the internet's resolver would answer them; ``localhost`` and literal
    addresses resolve as they do anywhere. Only the resolver, at its boundary, is replaced."""
    answers = {"hooks.example.test": ["93.184.215.14"], "private.example.test": ["10.1.2.3"]}
    real = webhooks.resolve

    def resolve(host, port):
        return answers[host] if host in answers else real(host, port)

    monkeypatch.setattr(webhooks, "resolve", resolve)
    return answers


@pytest.fixture
def production(settings):
    settings.DEBUG = False


@pytest.fixture
def development(settings):
    """DEBUG on: http and local addresses are taken, for a receiver on this machine."""
    settings.DEBUG = True


def create(api, **body):
    data = {"url": HOOK, "event_types": ["declaration.submitted"], **body}
    return api.post("/api/v1/webhooks/", data, format="json")


def test_an_endpoint_is_made_by_api_and_its_secret_is_shown_only_then(api, public_dns):
    response = create(api, description="Order system")
    assert response.status_code == 201, response.content
    made = response.json()
    assert made["secret"].startswith("whsec_") and len(made["secret"]) > 40
    assert made["event_types"] == ["declaration.submitted"] and made["active"] is True
    assert WebhookEndpoint.objects.get(pk=made["id"]).created_by_key is not None

    listed = api.get("/api/v1/webhooks/").json()["results"]
    assert [e["id"] for e in listed] == [made["id"]]
    assert "secret" not in listed[0]
    one = api.get(f"/api/v1/webhooks/{made['id']}/").json()
    assert "secret" not in one and one["description"] == "Order system"
    # The history keeps who did what, never the secret.
    history = WebhookEndpoint.history.filter(id=made["id"]).first()
    assert history is not None and not hasattr(history, "secret")


def test_changing_rotating_and_deleting_by_api(api, public_dns):
    made = create(api, description="Orders").json()
    url = f"/api/v1/webhooks/{made['id']}/"
    types = ["refund.paid", "declaration.released"]
    changed = api.patch(url, {"event_types": types}, format="json").json()
    assert changed["event_types"] == ["declaration.released", "refund.paid"]
    assert changed["url"] == HOOK and changed["description"] == "Orders"
    off = api.patch(url, {"active": False}, format="json").json()
    assert off["active"] is False and off["disabled_reason"]
    on = api.patch(url, {"active": True}, format="json").json()
    assert on["active"] is True and on["disabled_reason"] == ""

    rotated = api.post(f"{url}rotate-secret/").json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != made["secret"]
    assert WebhookEndpoint.objects.get(pk=made["id"]).secret == rotated["secret"]

    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404
    deleted = WebhookEndpoint.history.filter(id=made["id"], history_type="-").get()
    assert deleted.history_api_key is not None


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"event_types": []}, "event_types", None),
        ({"event_types": ["declaration.draft"]}, "event_types", None),
        ({"url": "ftp://hooks.example.test/x"}, "url", "invalid"),
        ({"url": "https://no-such-host.invalid/x"}, "url", "unresolvable"),
    ],
)
def test_bad_endpoints_are_refused_by_field(api, public_dns, body, field, code):
    response = create(api, **body)
    assert response.status_code in (400, 422), response.content
    [error] = response.json()["errors"]
    assert error["field"].split("[")[0] == field
    if code:
        assert error["code"] == code
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://127.0.0.1/hook", "address_not_public"),
        ("https://localhost/hook", "address_not_public"),
        ("https://private.example.test/hook", "address_not_public"),
        ("https://[::1]/hook", "address_not_public"),
        ("https://169.254.169.254/latest", "address_not_public"),
        ("http://hooks.example.test/hook", "https_required"),
    ],
)
def test_with_debug_off_only_public_https_addresses_are_taken(
    api, public_dns, production, url, code
):
    response = create(api, url=url)
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["errors"][0]["field"] == "url" and body["errors"][0]["code"] == code
    assert not WebhookEndpoint.objects.exists()
    assert create(api).status_code == 201


def test_a_name_that_now_resolves_privately_is_refused_at_send_time(
    organisation, actor, public_dns, production
):
    endpoint, _secret = webhooks.endpoint_create(
        organisation=organisation, url=HOOK, event_types=["declaration.held"], actor=actor
    )
    [pk] = submit(organisation, actor, currency="TWD")  # held: no rate for TWD
    assert webhook_delivery.relay() == 1
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.event.declaration_id == pk
    public_dns["hooks.example.test"] = ["127.0.0.1"]
    outcome = webhook_delivery.send(delivery.pk)
    assert outcome is not None and outcome.status_code is None
    [attempt] = delivery.attempt_log.all()
    assert "127.0.0.1" in attempt.error and attempt.status_code is None
    delivery.refresh_from_db()
    assert delivery.state == WebhookDelivery.State.PENDING
    assert delivery.attempts == 1 and delivery.next_attempt_at > attempt.at


def test_another_organisations_endpoint_is_not_found(api, stranger, public_dns):
    made = create(api).json()
    url = f"/api/v1/webhooks/{made['id']}/"
    assert stranger.get(url).status_code == 404
    assert stranger.patch(url, {"active": False}, format="json").status_code == 404
    assert stranger.delete(url).status_code == 404
    assert stranger.get(f"{url}deliveries/").status_code == 404
    assert stranger.post(f"{url}rotate-secret/").status_code == 404
    assert stranger.get("/api/v1/webhooks/").json()["results"] == []
    assert WebhookEndpoint.objects.get(pk=made["id"]).active


def test_the_relay_makes_one_delivery_per_subscribed_endpoint_and_event(
    organisation, actor, development
):
    # Without rates loaded, the declarations are held: their first event says so.
    wanted, _s = webhooks.endpoint_create(
        organisation=organisation,
        url="http://127.0.0.1:9/a",
        event_types=["declaration.held"],
        actor=actor,
    )
    webhooks.endpoint_create(
        organisation=organisation,
        url="http://127.0.0.1:9/b",
        event_types=["refund.paid"],
        actor=actor,
    )
    other = OrganisationFactory()
    theirs, _s = webhooks.endpoint_create(
        organisation=other,
        url="http://127.0.0.1:9/c",
        event_types=["declaration.held"],
        actor=Actor(user=other.owner),
    )
    off, _s = webhooks.endpoint_create(
        organisation=organisation,
        url="http://127.0.0.1:9/d",
        event_types=["declaration.held"],
        actor=actor,
    )
    webhooks.endpoint_set_active(endpoint=off, active=False, actor=actor)
    ids = submit(organisation, actor, count=3)
    [their_id] = submit(other, Actor(user=other.owner))
    assert webhook_delivery.relay(batch=2) == 4
    made = WebhookDelivery.objects.filter(endpoint__organisation=organisation)
    assert {d.endpoint_id for d in made} == {wanted.pk}
    assert sorted(d.event.declaration_id for d in made) == sorted(ids)
    [told] = WebhookDelivery.objects.filter(endpoint=theirs)
    assert told.event.declaration_id == their_id
    # Read again from its cursor, the relay makes nothing twice.
    assert webhook_delivery.relay() == 0
    assert WebhookDelivery.objects.count() == 4


def test_event_types_name_every_refund_status():
    assert set(events.REFUND_STATUSES) == set(RefundStatus.values)
    assert all(t in events.EVENT_TYPES for t in ("declaration.submitted", "refund.paid"))
    assert "declaration.draft" not in events.EVENT_TYPES


def test_the_payload_is_the_feeds_event_and_carries_no_risk_data(organisation, actor, development):
    _endpoint, secret = webhooks.endpoint_create(
        organisation=organisation,
        url="http://127.0.0.1:9/a",
        event_types=["declaration.held"],
        actor=actor,
    )
    submit(organisation, actor)  # held: no rates are loaded
    webhook_delivery.relay()
    delivery = WebhookDelivery.objects.select_related("event__declaration", "endpoint").get()
    body = webhook_delivery.payload(delivery.event)
    headers = webhook_delivery.signed_headers(delivery, body)
    from standardwebhooks.webhooks import Webhook

    sent = Webhook(secret).verify(body, headers)
    assert sent["type"] == "declaration.held"
    assert sent["data"]["reason"]
    assert set(sent) == {"type", "timestamp", "data"}
    assert set(sent["data"]) == {
        "id", "type", "occurred_at", "declaration", "state", "reason", "refund",
    }  # fmt: skip
    assert headers["webhook-id"] == f"msg_{delivery.pk}"
    assert "lane" not in body and "score" not in body


# --- In the browser's forms (page tests in Chromium are in test_webhooks_delivery.py) ------


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_the_owner_adds_an_endpoint_and_sees_its_secret_once(owner, public_dns):
    client = signed_in(owner)
    response = client.post(
        "/declarations/webhooks/new/",
        {"url": HOOK, "description": "Orders", "event_types": ["declaration.released"]},
    )
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{endpoint.pk}/")
    first = client.get(response["Location"]).content.decode()
    assert endpoint.secret in first
    again = client.get(response["Location"]).content.decode()
    assert endpoint.secret not in again and HOOK in again
    assert endpoint.history.get().history_user == owner


def test_the_form_refuses_a_local_address_with_debug_off(owner, public_dns, production):
    client = signed_in(owner)
    for url in ("https://127.0.0.1/hook", "https://localhost/hook"):
        response = client.post(
            "/declarations/webhooks/new/", {"url": url, "event_types": ["declaration.released"]}
        )
        assert response.status_code == 200
        page = response.content.decode()
        assert "usa-error-message" in page and "private, loopback or link-local" in page
        assert response.context["form"].errors["url"]
    assert not WebhookEndpoint.objects.exists()


def test_pages_of_another_organisations_endpoint_are_not_found(owner, public_dns):
    other = OrganisationFactory()
    theirs, _s = webhooks.endpoint_create(
        organisation=other, url=HOOK, event_types=["refund.paid"], actor=Actor(user=other.owner)
    )
    client = signed_in(owner)
    base = f"/declarations/webhooks/{theirs.pk}/"
    assert client.get(base).status_code == 404
    assert client.get(base + "edit/").status_code == 404
    for action in ("active/", "secret/", "delete/", "deliveries/1/redeliver/"):
        assert client.post(base + action).status_code == 404
    assert WebhookEndpoint.objects.get(pk=theirs.pk).active


def test_a_member_who_is_not_the_owner_cannot_manage_endpoints(organisation):
    from clearance.models import Membership
    from tests.factories import UserFactory

    clerk = UserFactory()
    Membership.objects.create(user=clerk, organisation=organisation, role="member")
    assert signed_in(clerk).get("/declarations/webhooks/").status_code == 404


def test_a_service_error_names_its_field(organisation, actor, public_dns, production):
    with pytest.raises(ServiceError) as refused:
        webhooks.endpoint_create(
            organisation=organisation,
            url="https://localhost/x",
            event_types=["refund.paid"],
            actor=actor,
        )
    assert refused.value.field == "url" and refused.value.code == "address_not_public"
