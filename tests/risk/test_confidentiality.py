"""No page or API response a seller can reach shows a score, a rule or a reason."""

import datetime
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from clearance.actors import Actor
from clearance.models import Notification, Role
from clearance.review import notices as release_notices
from clearance.review import services as review
from clearance.review.models import ReleaseNotice, ReviewCase
from clearance.risk import scoring as risk
from clearance.risk.models import RiskRule, RiskScore
from clearance.services import apikey_create
from declarations import services
from tests.declarations.helpers import declaration_data
from tests.factories import staff_user

pytestmark = pytest.mark.django_db

RULE_NAME = "Zebra-rule-7731"
REASON = "Quokka-reason-5519"
SECRETS = (RULE_NAME, REASON, '"points"', '"hits"', "risk_score", "random_selected")


def routes(resolver: URLResolver | None = None, prefix: str = "") -> list[str]:
    found = []
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found += routes(entry, route)
        elif isinstance(entry, URLPattern):
            found.append(route)
    return found


def concrete(route: str, pk: int, code: str) -> str | None:
    """The route with its parameters filled in, or None when it takes one we cannot fill."""
    if route.startswith(("admin/", "^", "staff/")):
        return None
    route = re.sub(r"<int:[a-z_]*pk>|<int:[a-z_]+>", str(pk), route)
    route = route.replace("<str:code>", code)
    if "<" in route or "(" in route:
        return None
    return "/" + route


def body(response) -> str:
    if getattr(response, "streaming", False):
        return str(b"".join(response.streaming_content).decode("utf-8", "replace"))
    return str(response.content.decode("utf-8", "replace"))


def test_no_page_or_api_response_a_seller_reaches_shows_a_score_a_rule_or_a_reason(
    regime, organisation, actor, client
):
    RiskRule.objects.create(
        name=RULE_NAME,
        kind="hs_prefix",
        params={"prefixes": ["85"]},
        points=45,
        effective_from=datetime.date(2024, 1, 1),
        reason_template=REASON + " {value}",
    )
    reviewed = services.declaration_create(
        organisation=organisation, data=declaration_data(), submit=True, actor=actor
    )
    risk.score_declarations([reviewed.pk])
    assert REASON in str(RiskScore.objects.get(declaration=reviewed).hits)
    officer = staff_user(Role.OFFICER)
    review.case_claim(case=ReviewCase.objects.get(declaration=reviewed), by=officer)
    review.info_request(
        declaration=reviewed,
        question="Send the invoice.",
        due_on=timezone.localdate() + datetime.timedelta(days=2),
        by=officer,
    )
    review.info_answer(
        declaration=reviewed, answer="Attached.", documents=[], actor=Actor(user=None)
    )
    review.case_claim(case=ReviewCase.objects.get(declaration=reviewed), by=officer)
    review.decision_release(declaration=reviewed, by=officer, reason=REASON)
    release_notices.render(reviewed.pk)
    code = ReleaseNotice.objects.get(declaration=reviewed).code

    _key, secret = apikey_create(organisation=organisation, name="s", by=None)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    client.force_login(organisation.owner)

    checked = 0
    for route in routes():
        url = concrete(route, reviewed.pk, code)
        if url is None:
            continue
        for caller in (client, api):
            text = body(caller.get(url))
            checked += 1
            for secret_text in SECRETS:
                assert secret_text not in text, f"{url} shows {secret_text}"
    assert checked > 40
    for notification in Notification.objects.filter(recipient=organisation.owner):
        assert REASON not in notification.body and RULE_NAME not in notification.body
