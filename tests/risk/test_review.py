"""Officer review: claiming, asking the filer, the filer's answer, decisions and reversals,
release notices and their verification."""

import datetime
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from clearance.errors import ServiceError
from clearance.models import Notification, Role
from clearance.review import notices as release_notices
from clearance.review import services as review
from clearance.review.models import Decision, ReleaseNotice, ReviewCase
from clearance.risk import scoring as risk
from clearance.risk.models import RiskRule, RiskSettings
from clearance.services import apikey_create
from declarations import services
from declarations.models import Declaration, Status
from tests.declarations.helpers import declaration_data
from tests.factories import current_totp, hs_rule, staff_user

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def watched(db):
    RiskSettings.objects.update_or_create(pk=1, defaults={"random_share": 0})
    return hs_rule("8518", 45, "Headphones are watched: HS {value}.", "Headphones watch")


@pytest.fixture
def yellow(regime, watched, organisation, actor):
    declaration = services.declaration_create(
        organisation=organisation, data=declaration_data(), submit=True, actor=actor
    )
    risk.score_declarations([declaration.pk])
    declaration.refresh_from_db()
    assert declaration.status == Status.UNDER_REVIEW
    return declaration


@pytest.fixture
def officer(db):
    return staff_user(Role.OFFICER)


@pytest.fixture
def supervisor(db):
    return staff_user(Role.SUPERVISOR)


def signed_in(client, user):
    client.force_login(user)
    if user.is_staff_member:
        client.post("/account/two-factor/", {"token": current_totp(user)})
    return client


def case_of(declaration):
    return ReviewCase.objects.get(declaration=declaration)


def test_a_claimed_case_cannot_be_taken_by_another_officer(yellow, officer):
    review.case_claim(case=case_of(yellow), by=officer)
    with pytest.raises(ServiceError, match="Another officer"):
        review.case_claim(case=case_of(yellow), by=staff_user(Role.OFFICER))
    review.case_unclaim(case=case_of(yellow), by=officer)
    assert case_of(yellow).claimed_by is None
    assert case_of(yellow).history.first().history_user == officer


def test_an_officer_must_claim_a_case_before_deciding(yellow, officer):
    with pytest.raises(ServiceError, match="Claim the case"):
        review.decision_release(declaration=yellow, by=officer)


def test_an_information_request_tells_the_filer_and_the_answer_returns_the_case(
    yellow, officer, organisation, client, django_capture_on_commit_callbacks
):
    review.case_claim(case=case_of(yellow), by=officer)
    due = timezone.localdate() + datetime.timedelta(days=3)
    with django_capture_on_commit_callbacks():
        review.info_request(
            declaration=yellow, question="Send the invoice, please.", due_on=due, by=officer
        )
    yellow.refresh_from_db()
    assert yellow.status == Status.INFO_REQUESTED
    notice = Notification.objects.get(recipient=organisation.owner, event="information_requested")
    assert "Send the invoice, please." in notice.body
    decision = Decision.objects.get(declaration=yellow)
    assert (decision.action, decision.by, decision.reason) == (
        "request_info",
        officer,
        "Send the invoice, please.",
    )

    signed_in(client, organisation.owner)
    page = client.get(f"/declarations/{yellow.pk}/information/")
    assert "Send the invoice, please." in page.content.decode()
    response = client.post(
        f"/declarations/{yellow.pk}/information/",
        {
            "answer": "Invoice attached.",
            "kind": "invoice",
            "file": SimpleUploadedFile("invoice.png", PNG),
        },
    )
    assert response.status_code == 302
    yellow.refresh_from_db()
    assert yellow.status == Status.UNDER_REVIEW
    assert case_of(yellow).claimed_by is None
    assert yellow.documents.get().original_name == "invoice.png"
    assert yellow.info_requests.get().answer == "Invoice attached."


def test_a_platform_answers_by_api(yellow, officer, organisation):
    review.case_claim(case=case_of(yellow), by=officer)
    due = timezone.localdate() + datetime.timedelta(days=3)
    review.info_request(declaration=yellow, question="Which model?", due_on=due, by=officer)
    _key, secret = apikey_create(organisation=organisation, name="s", by=None)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    url = f"/api/v1/declarations/{yellow.pk}/information/"
    assert api.get(url).json()[0]["question"] == "Which model?"
    answered = api.post(
        url,
        {"answer": "Model X100.", "kind": "photo", "documents": [SimpleUploadedFile("a.png", PNG)]},
        format="multipart",
    )
    assert answered.status_code == 200
    assert answered.json()["answer"] == "Model X100."
    assert yellow.documents.get().kind == "photo"
    again = api.post(url, {"answer": "Again."}, format="multipart")
    assert again.status_code == 422


def test_another_filer_cannot_see_or_answer_the_question(yellow, client):
    from tests.factories import OrganisationFactory

    signed_in(client, OrganisationFactory().owner)
    assert client.get(f"/declarations/{yellow.pk}/information/").status_code == 404


def test_release_records_the_decision_and_issues_a_verifiable_notice(
    yellow, officer, organisation, client, django_capture_on_commit_callbacks
):
    review.case_claim(case=case_of(yellow), by=officer)
    with django_capture_on_commit_callbacks():
        review.decision_release(declaration=yellow, by=officer)
    yellow.refresh_from_db()
    assert yellow.status == Status.RELEASED
    assert case_of(yellow).closed_at is not None
    notice = ReleaseNotice.objects.get(declaration=yellow)
    assert re.fullmatch(r"[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}", notice.code)
    assert Notification.objects.filter(event="declaration_released").exists()

    release_notices.render(yellow.pk)
    notice.refresh_from_db()
    assert notice.file.read().startswith(b"%PDF-")

    signed_in(client, organisation.owner)
    download = client.get(f"/declarations/{yellow.pk}/release-notice.pdf")
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"%PDF-")

    client.logout()
    page = client.get(f"/verify/{notice.code.lower().replace('-', '')}")
    assert page.status_code == 200
    assert yellow.system_reference in page.content.decode()
    assert organisation.name not in page.content.decode()
    assert client.get("/verify/AAAA-BBBB-CCCC").status_code == 404


def test_a_released_declaration_gets_its_notice_when_the_filer_first_asks(
    regime, organisation, actor, client, django_capture_on_commit_callbacks
):
    RiskSettings.objects.update_or_create(pk=1, defaults={"random_share": 0})
    declaration = services.declaration_create(
        organisation=organisation, data=declaration_data(), submit=True, actor=actor
    )
    risk.score_declarations([declaration.pk])
    signed_in(client, organisation.owner)
    with django_capture_on_commit_callbacks() as callbacks:
        pending = client.get(f"/declarations/{declaration.pk}/release-notice.pdf")
    assert pending.status_code == 202
    assert len(callbacks) == 1
    release_notices.render(declaration.pk)
    assert client.get(f"/declarations/{declaration.pk}/release-notice.pdf").status_code == 200


def test_reject_and_seize_need_a_reason_and_only_a_supervisor_reverses(yellow, officer, supervisor):
    review.case_claim(case=case_of(yellow), by=officer)
    with pytest.raises(ServiceError, match="reason"):
        review.decision_reject(declaration=yellow, by=officer, reason=" ")
    rejection = review.decision_reject(declaration=yellow, by=officer, reason="Counterfeit.")
    with pytest.raises(ServiceError, match="supervisor"):
        review.decision_reverse(decision=rejection, by=officer, reason="Mistake.")
    reversal = review.decision_reverse(decision=rejection, by=supervisor, reason="Genuine goods.")
    yellow.refresh_from_db()
    assert yellow.status == Status.UNDER_REVIEW
    assert reversal.reverses == rejection and reversal.by == supervisor
    assert case_of(yellow).closed_at is None
    with pytest.raises(ServiceError, match="already reversed"):
        review.decision_reverse(decision=rejection, by=supervisor, reason="Again.")


def test_a_compliant_inspection_releases_and_a_discrepancy_keeps_the_case_open(yellow, officer):
    review.case_claim(case=case_of(yellow), by=officer)
    review.decision_inspection(
        declaration=yellow, by=officer, compliant=False, note="Six units, not two."
    )
    yellow.refresh_from_db()
    assert yellow.status == Status.UNDER_REVIEW
    review.decision_inspection(declaration=yellow, by=officer, compliant=True, note="")
    yellow.refresh_from_db()
    assert yellow.status == Status.RELEASED
    assert list(yellow.decisions.values_list("action", flat=True)) == [
        "inspection",
        "inspection",
        "release",
    ]


def test_the_queue_is_sorted_by_score_and_filtered_by_rule_hit(
    yellow, watched, officer, organisation, actor, client
):
    other = hs_rule("6109", 50, "T-shirts.", "T-shirts watch")
    shirts = services.declaration_create(
        organisation=organisation,
        data=declaration_data(lines=[{**declaration_data()["lines"][1]}]),
        submit=True,
        actor=actor,
    )
    risk.score_declarations([shirts.pk])
    ReviewCase.objects.filter(declaration=yellow).update(
        due_at=timezone.now() - datetime.timedelta(hours=1)
    )
    signed_in(client, officer)
    page = client.get("/staff/review/").content.decode()
    assert page.index(shirts.system_reference) < page.index(yellow.system_reference)
    assert "Overdue" in page
    only = client.get(f"/staff/review/?rule={other.pk}").content.decode()
    assert shirts.system_reference in only and yellow.system_reference not in only
    case_page = client.get(f"/staff/review/{yellow.pk}/").content.decode()
    assert "Headphones are watched: HS 851830." in case_page


def test_the_case_page_actions_work_through_the_browser_forms(yellow, officer, client):
    signed_in(client, officer)
    client.post(f"/staff/review/{yellow.pk}/claim/")
    assert case_of(yellow).claimed_by == officer
    client.post(f"/staff/review/{yellow.pk}/reject/", {"reason": "Prohibited goods."})
    yellow.refresh_from_db()
    assert yellow.status == Status.REJECTED
    assert yellow.decisions.get().reason == "Prohibited goods."


def test_a_seller_who_opens_an_officer_page_gets_404(yellow, organisation, client):
    signed_in(client, organisation.owner)
    for url in (
        "/staff/review/",
        f"/staff/review/{yellow.pk}/",
        f"/staff/review/{yellow.pk}/claim/",
    ):
        assert client.get(url).status_code == 404
    assert client.post(f"/staff/review/{yellow.pk}/claim/").status_code == 404


def test_an_officer_cannot_reverse_through_the_page(yellow, officer, client):
    review.case_claim(case=case_of(yellow), by=officer)
    rejection = review.decision_reject(declaration=yellow, by=officer, reason="No.")
    signed_in(client, officer)
    assert (
        client.post(f"/staff/decisions/{rejection.pk}/reverse/", {"reason": "x"}).status_code == 404
    )
    assert Declaration.objects.get(pk=yellow.pk).status == Status.REJECTED


def test_the_staff_workspace_leads_officers_to_the_queues_and_supervisors_to_the_rules(client):
    signed_in(client, staff_user(Role.OFFICER))
    page = client.get("/staff/").content.decode()
    assert "/staff/review/" in page and "/staff/risk/rules/" not in page
    client.logout()
    signed_in(client, staff_user(Role.SUPERVISOR))
    assert "/staff/risk/rules/" in client.get("/staff/").content.decode()


def test_the_sweeper_renders_a_notice_whose_message_was_lost(yellow, officer):
    review.case_claim(case=case_of(yellow), by=officer)
    review.decision_release(declaration=yellow, by=officer)
    assert release_notices.missing() == []
    ReleaseNotice.objects.filter(declaration=yellow).update(
        issued_at=timezone.now() - datetime.timedelta(minutes=5)
    )
    assert release_notices.missing() == [yellow.pk]
    release_notices.render(yellow.pk)
    assert release_notices.missing() == []


def test_an_officer_release_with_something_due_waits_for_payment(
    regime, watched, organisation, actor, officer
):
    expensive = {**declaration_data()["lines"][0], "value": "900.00"}
    declaration = services.declaration_create(
        organisation=organisation,
        data=declaration_data(lines=[expensive]),
        submit=True,
        actor=actor,
    )
    risk.score_declarations([declaration.pk])
    review.case_claim(case=case_of(declaration), by=officer)
    review.decision_release(declaration=declaration, by=officer)
    declaration.refresh_from_db()
    assert declaration.status == Status.AWAITING_PAYMENT
    assert not ReleaseNotice.objects.filter(declaration=declaration).exists()
    assert declaration.decisions.get().action == "release"


def test_a_discrepancy_with_corrected_values_reassesses_and_keeps_the_case(yellow, officer, client):
    RiskRule.objects.filter(name="Headphones watch").update(points=80)
    ReviewCase.objects.filter(declaration=yellow).update(queue="inspection")
    signed_in(client, officer)
    client.post(f"/staff/review/{yellow.pk}/claim/")
    client.post(
        f"/staff/review/{yellow.pk}/inspection/",
        {
            "result": "discrepancy",
            "note": "Six units worth more.",
            "line-1-quantity": "6",
            "line-1-value": "400.00",
        },
    )
    yellow.refresh_from_db()
    assert (yellow.status, yellow.version, yellow.lane) == (Status.UNDER_REVIEW, 2, "yellow")
    first, second = yellow.versions.order_by("number")
    assert second.customs_value > first.customs_value
    assert second.data["lines"][0]["quantity"] == "6"
    assert second.created_by == officer
    assert yellow.decisions.get().reason == "Six units worth more."
    assert case_of(yellow).claimed_by == officer
    assert risk.score_declarations([yellow.pk]) == 0
