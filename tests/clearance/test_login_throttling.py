import threading

import pytest
from axes.models import AccessAttempt
from django.test import Client

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def attempt(email: str, password: str) -> int:
    return Client().post("/account/login/", {"username": email, "password": password}).status_code


def test_repeated_wrong_passwords_lock_the_account_even_when_they_arrive_at_once(settings):
    user = UserFactory()
    barrier = threading.Barrier(20)
    statuses: list[int] = []

    def wrong() -> None:
        barrier.wait()
        statuses.append(attempt(user.email, "not-the-password"))

    threads = [threading.Thread(target=wrong) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(statuses) == 20
    # However the 20 requests interleaved, the lock holds: the right password is refused now.
    assert attempt(user.email, PASSWORD) == 429
    failures = sum(a.failures_since_start for a in AccessAttempt.objects.all())
    assert failures >= settings.AXES_FAILURE_LIMIT


def test_a_correct_password_before_the_limit_signs_in():
    user = UserFactory()
    for _ in range(2):
        assert attempt(user.email, "wrong-password") == 200
    assert attempt(user.email, PASSWORD) == 302
