import uuid

import pytest

from clearance.errors import ServiceError
from clearance.models import Notification
from publications import comments, consultations, subscriptions
from publications.models import Comment, Consultation, Subscription
from tests.conftest import wait_for
from tests.factories import UserFactory, staff_user
from tests.publications.helpers import open_consultation
from tests.publications.test_comments import sign_in_editor, submit


@pytest.mark.django_db(transaction=True)
def test_publishing_the_final_version_answers_each_theme_and_tells_commenters_and_subscribers(
    client, celery_worker, mailbox
):
    consultation = open_consultation()
    pub = consultation.version.publication
    signed_in = UserFactory()
    by_user = submit(consultation, body="Sea freight takes longer.", user=signed_in)
    anonymous_email = f"anon-{uuid.uuid4().hex[:6]}@example.test"
    anonymous = submit(consultation, body="Count working days.", email=anonymous_email)
    comments.comment_confirm(token=comments.comment_confirm_token(anonymous))
    editor = staff_user("editor")
    for comment in (by_user, anonymous):
        comments.comment_moderate(comment=comment, approve=True, by=editor)
    subscriber = Subscription.objects.create(
        email=f"sub-{uuid.uuid4().hex[:6]}@example.test", publication=pub, language="en"
    )
    subscriptions.subscription_confirm(
        token=subscriptions.subscription_token(subscriber, subscriptions.SUBSCRIBE_SALT)
    )

    sign_in_editor(client)
    page = f"/publications/editor/consultations/{consultation.pk}/"
    client.post(page, {"action": "theme", "theme-title": "Length of the window"})
    theme = consultation.themes.get()
    for comment in (by_user, anonymous):
        client.post(page, {"action": "assign", "comment": comment.pk, "theme": theme.pk})
    client.post(page, {"action": "answer", "theme": theme.pk, "answer": "We keep 90 days."})
    client.post(
        page, {"action": "response", "response-response": "Thank you for **two** comments."}
    )
    consultations.consultations_advance(now=consultation.closes_at)
    response = client.post(
        page,
        {"action": "publish", "version": consultation.version.pk,
         "publish-effective_date": consultation.earliest_effective_date().isoformat()},
    )  # fmt: skip
    assert response.status_code == 302
    consultation.refresh_from_db()
    assert consultation.status == Consultation.Status.CONCLUDED

    assert Notification.objects.filter(recipient=signed_in, event="consultation_concluded").exists()
    wait_for(
        lambda: any(
            "The final version after" in str(m["Subject"]) for m in mailbox.to(anonymous_email)
        )
    )
    [alert] = mailbox.wait_for(subscriber.email)
    assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    client.logout()
    public = client.get(f"/publications/consultations/{consultation.pk}/").content.decode()
    assert "Thank you for <strong>two</strong> comments." in public
    assert "We keep 90 days." in public
    assert f'href="#comment-{by_user.tracking_number}"' in public
    assert f'href="#comment-{anonymous.tracking_number}"' in public


@pytest.mark.django_db
def test_a_theme_of_another_consultation_cannot_be_given_to_a_comment():
    first, second = open_consultation(), open_consultation()
    theme = consultations.theme_create(consultation=second, title="Elsewhere", by=None)
    comment = submit(first, user=UserFactory())
    with pytest.raises(ServiceError):
        consultations.comment_set_theme(comment=comment, theme=theme, by=None)
    assert Comment.objects.get(pk=comment.pk).theme is None
