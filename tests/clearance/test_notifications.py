import pytest
from django.db import transaction

from clearance import services
from clearance.models import Notification
from clearance.tasks import send_notification_email
from tests.conftest import wait_for
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


class Rollback(Exception):
    pass


def test_a_notification_in_a_rolled_back_transaction_is_never_sent(celery_worker, mailbox):
    user = UserFactory(email="rolled-back@example.test")
    with pytest.raises(Rollback), transaction.atomic():
        services.notify(event="account_ready", recipients=[user], context={"name": "Ana"})
        raise Rollback
    # A committed notification sent after it proves the worker was running meanwhile.
    witness = UserFactory(email="witness@example.test")
    services.notify(event="account_ready", recipients=[witness], context={"name": "Wit"})
    mailbox.wait_for("witness@example.test")
    assert mailbox.to("rolled-back@example.test") == []
    assert not Notification.objects.filter(recipient=user).exists()


def test_a_committed_notification_is_sent_exactly_once_through_smtp(celery_worker, mailbox):
    user = UserFactory(email="committed@example.test")
    with transaction.atomic():
        [notification] = services.notify(
            event="account_ready", recipients=[user], context={"name": "O'Brien"}, url="/dashboard/"
        )
    [message] = mailbox.wait_for("committed@example.test")
    assert message["Subject"] == "Your account is ready"
    assert "Hello O'Brien" in mailbox.text(message)  # plain text is not HTML-escaped
    assert message.get_body(preferencelist=("html",)) is not None
    wait_for(lambda: Notification.objects.get(pk=notification.pk).email_status == "sent")
    # Delivering the task again (a redelivered message, the sweeper) sends nothing more.
    send_notification_email.delay(notification.pk)
    witness = UserFactory(email="after@example.test")
    services.notify(event="account_ready", recipients=[witness], context={"name": "W"})
    mailbox.wait_for("after@example.test")
    assert len(mailbox.to("committed@example.test")) == 1


def test_an_email_is_written_in_the_recipients_language(celery_worker, mailbox):
    user = UserFactory(email="korean@example.test", language="ko")
    services.notify(event="account_ready", recipients=[user], context={"name": "Min"})
    [message] = mailbox.wait_for("korean@example.test")
    assert message["Subject"] == "계정이 준비되었습니다"


def test_notifying_an_organisation_reaches_every_active_member():
    organisation = OrganisationFactory()
    member = UserFactory()
    organisation.memberships.create(user=member)
    inactive = UserFactory(is_active=False)
    organisation.memberships.create(user=inactive)
    sent = services.notify(
        event="account_ready", organisation=organisation, context={"name": "x"}, email=False
    )
    assert {n.recipient for n in sent} == {organisation.owner, member}


def test_the_header_shows_the_unread_count_and_reading_clears_it(client):
    user = UserFactory()
    services.notify(event="account_ready", recipients=[user], context={"name": "x"}, email=False)
    client.force_login(user)
    page = client.get("/notifications/").content.decode()
    assert '1<span class="usa-sr-only"> unread</span>' in page
    client.post("/notifications/read/")
    page = client.get("/notifications/").content.decode()
    assert "unread</span>" not in page


def test_a_user_sees_only_their_own_notifications(client):
    mine, theirs = UserFactory(), UserFactory()
    services.notify(
        event="account_ready", recipients=[theirs], context={"name": "Zed"}, email=False
    )
    client.force_login(mine)
    assert "Hello Zed" not in client.get("/notifications/").content.decode()
