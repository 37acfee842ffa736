import re
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string

from clearance.errors import ServiceError
from clearance.models import Notification
from publications import comments, consultations
from publications.models import Comment
from tests.clearance.test_staff_access import sign_in
from tests.factories import UserFactory, current_totp, staff_user
from tests.publications.helpers import open_consultation

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def unique_address() -> str:
    return f"192.0.2.{uuid.uuid4().int % 250}-{uuid.uuid4().hex[:6]}"


def submit(consultation, body="Ninety days is too short for sea freight.", **kwargs):
    kwargs.setdefault("name", "Kim Trader")
    kwargs.setdefault("email", f"{uuid.uuid4().hex[:8]}@example.test")
    kwargs.setdefault("user", None)
    kwargs.setdefault("address", unique_address())
    return comments.comment_submit(consultation=consultation, body=body, **kwargs)


def sign_in_editor(client):
    editor = staff_user("editor")
    sign_in(client, editor)
    client.post("/account/two-factor/", {"token": current_totp(editor)})
    return editor


@pytest.mark.django_db(transaction=True)
def test_an_anonymous_comment_is_confirmed_by_email_moderated_and_only_then_public(
    client, celery_worker, mailbox
):
    consultation = open_consultation()
    email = f"anon-{uuid.uuid4().hex[:6]}@example.test"
    page = f"/publications/consultations/{consultation.pk}/"
    response = client.post(
        page + "comment/",
        {"section": "section-2", "body": "Please count customs days separately.",
         "name": "Park Buyer", "email": email, "on_behalf": "individual"},
    )  # fmt: skip
    assert response.status_code == 302
    submitted = client.get(response["Location"]).content.decode()
    comment = Comment.objects.get(email=email)
    assert comment.tracking_number in submitted
    assert comment.status == Comment.Status.UNCONFIRMED

    [confirm] = mailbox.wait_for(email)
    link = re.search(
        r"https?://[^/\s]+(/publications/comments/confirm/\S+/)", mailbox.text(confirm)
    )
    assert link, mailbox.text(confirm)
    client.post(link.group(1))
    comment.refresh_from_db()
    assert comment.status == Comment.Status.PENDING
    receipt = mailbox.wait_for(email, count=2)[1]
    assert comment.tracking_number in receipt["Subject"]

    # Pre-moderation: not on the page, not in the open data, until an editor approves it.
    assert "Please count customs days" not in client.get(page).content.decode()
    api = client.get(f"/api/v1/consultations/{consultation.pk}/comments/").json()
    assert api["count"] == 0

    sign_in_editor(client)
    queue = client.get("/publications/editor/").content.decode()
    assert comment.tracking_number in queue
    client.post("/publications/editor/", {"comment": comment.pk, "decision": "approve"})
    client.logout()
    public = client.get(page).content.decode()
    assert "Please count customs days separately." in public
    assert 'href="#section-2">Refund of duties</a>' in public  # the section it is on
    published = mailbox.wait_for(email, count=3)[2]
    assert "is published" in published["Subject"]


@pytest.mark.django_db
def test_post_moderation_publishes_a_confirmed_comment_at_once(settings):
    settings.COMMENT_PRE_MODERATION = False
    consultation = open_consultation()
    user = UserFactory()
    comment = submit(consultation, user=user)
    assert comment.status == Comment.Status.PUBLISHED
    assert Notification.objects.filter(recipient=user, event="comment_received").exists()


@pytest.mark.django_db
def test_a_signed_in_users_comment_needs_no_email_confirmation_and_waits_for_review():
    user = UserFactory()
    comment = submit(open_consultation(), user=user, name="", email="")
    assert comment.status == Comment.Status.PENDING
    assert comment.email == user.email


@pytest.mark.django_db
def test_more_comments_than_the_hourly_limit_from_one_address_are_refused(settings):
    settings.COMMENT_RATE_PER_HOUR = 3
    consultation = open_consultation()
    address = unique_address()
    for n in range(3):
        submit(consultation, body=f"comment {n}", address=address)
    with pytest.raises(ServiceError) as error:
        submit(consultation, body="one too many", address=address)
    assert error.value.code == "rate_limited"
    assert Comment.objects.filter(consultation=consultation).count() == 3


@pytest.mark.django_db
def test_more_comments_than_the_hourly_limit_from_one_email_are_refused_whatever_the_address(
    settings,
):
    settings.COMMENT_RATE_PER_HOUR = 2
    consultation = open_consultation()
    email = f"busy-{uuid.uuid4().hex[:6]}@example.test"
    submit(consultation, email=email)
    submit(consultation, email=email.upper())
    with pytest.raises(ServiceError) as error:
        submit(consultation, email=email)
    assert error.value.field == "email"


@pytest.mark.django_db
def test_a_form_with_the_honeypot_filled_is_refused_and_nothing_is_saved(client):
    consultation = open_consultation()
    response = client.post(
        f"/publications/consultations/{consultation.pk}/comment/",
        {"body": "Buy cheap watches", "name": "Bot", "email": "bot@example.test",
         "on_behalf": "individual", "website": "http://spam.example"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "could not be accepted" in response.content.decode()
    assert not Comment.objects.filter(consultation=consultation).exists()


@pytest.mark.django_db
def test_identical_and_near_identical_comments_are_grouped_as_one_campaign_with_its_count():
    consultation = open_consultation()
    text = "I oppose the new returns rule because it burdens small sellers like me."
    user_comments = [
        submit(consultation, body=text, user=UserFactory()),
        submit(consultation, body=text.upper() + "!!", user=UserFactory()),
        submit(consultation, body=text.replace("like me", "like us"), user=UserFactory()),
    ]
    other = submit(
        consultation, body="Please publish the list of accepted proofs.", user=UserFactory()
    )
    campaigns = {
        c.campaign_id for c in Comment.objects.filter(pk__in=[c.pk for c in user_comments])
    }
    assert len(campaigns) == 1 and None not in campaigns
    campaign = consultation.campaigns.get()
    assert campaign.comments.count() == 3
    other.refresh_from_db()
    assert other.campaign is None


@pytest.mark.django_db
def test_a_pdf_attachment_is_kept_and_anything_else_or_too_large_is_refused(settings):
    consultation = open_consultation()
    ok = submit(consultation, attachment=SimpleUploadedFile("brief.pdf", PDF, "application/pdf"))
    assert ok.attachments.get().size == len(PDF)
    with pytest.raises(ServiceError) as error:
        submit(
            consultation, attachment=SimpleUploadedFile("x.pdf", b"MZ\x90\x00", "application/pdf")
        )
    assert (error.value.field, error.value.code) == ("attachment", "not_pdf")
    settings.COMMENT_ATTACHMENT_MAX_BYTES = 10
    with pytest.raises(ServiceError) as error:
        submit(consultation, attachment=SimpleUploadedFile("big.pdf", PDF, "application/pdf"))
    assert error.value.code == "too_large"


@pytest.mark.django_db
def test_a_comment_for_an_organisation_needs_the_organisations_name():
    with pytest.raises(ServiceError) as error:
        submit(open_consultation(), on_behalf="organisation", organisation_name=" ")
    assert error.value.field == "organisation_name"


@pytest.mark.django_db
def test_a_closed_consultation_takes_no_comments(client):
    consultation = open_consultation()
    consultations.consultations_advance(now=consultation.closes_at)
    consultation.refresh_from_db()
    with pytest.raises(ServiceError):
        submit(consultation)
    assert client.get(f"/publications/consultations/{consultation.pk}/comment/").status_code == 404


@pytest.mark.django_db
def test_a_reader_flag_puts_a_published_comment_back_in_the_editors_queue(client):
    consultation = open_consultation()
    comment = submit(consultation, user=UserFactory())
    editor = staff_user("editor")
    comments.comment_moderate(comment=comment, approve=True, by=editor)
    response = client.post(
        f"/publications/comments/{comment.tracking_number}/flag/", {"reason": "Insults a person"}
    )
    assert response.status_code == 302
    comment.refresh_from_db()
    assert comment.flag_count == 1
    sign_in_editor(client)
    queue = client.get("/publications/editor/").content.decode()
    assert "Insults a person" in queue


@pytest.mark.django_db
def test_the_moderation_queue_is_a_404_for_a_signed_in_member_of_the_public(client):
    user = UserFactory()
    sign_in(client, user)
    assert client.get("/publications/editor/").status_code == 404


@pytest.mark.django_db
def test_reports_from_one_address_are_limited_per_hour(settings):
    consultation = open_consultation()
    comment = comments.comment_moderate(
        comment=submit(consultation, user=UserFactory()), approve=True, by=staff_user("editor")
    )
    settings.COMMENT_RATE_PER_HOUR = 1
    address = unique_address()
    comments.comment_flag(comment=comment, reason="Spam", address=address)
    with pytest.raises(ServiceError) as error:
        comments.comment_flag(comment=comment, reason="Spam again", address=address)
    assert error.value.code == "rate_limited"
    comment.refresh_from_db()
    assert comment.flag_count == 1


def test_plain_text_emails_are_not_html_escaped():
    context = {"name": "Conor O'Brien", "title": "Fees & charges", "tracking_number": "A"}
    text = render_to_string("publications/emails/comment_receipt/body.txt", context)
    assert "Hello Conor O'Brien" in text and '"Fees & charges"' in text
    html = render_to_string("publications/emails/comment_receipt/body.html", context)
    assert "Fees &amp; charges" in html
