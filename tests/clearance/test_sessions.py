from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_session_ends_after_the_idle_timeout(client, settings):
    user = UserFactory()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.force_login(user)
        assert client.get("/dashboard/").status_code == 200
    with time_machine.travel(start + timedelta(seconds=settings.SESSION_IDLE_TIMEOUT + 60)):
        response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/login/")


def test_activity_keeps_a_session_alive_until_the_absolute_timeout(client, settings):
    user = UserFactory()
    start = timezone.now()
    step = timedelta(seconds=settings.SESSION_IDLE_TIMEOUT // 2)
    with time_machine.travel(start, tick=False) as traveller:
        client.force_login(user)
        assert client.get("/dashboard/").status_code == 200
        elapsed = timedelta(0)
        while elapsed < timedelta(seconds=settings.SESSION_ABSOLUTE_TIMEOUT - 120):
            traveller.shift(step)
            elapsed += step
            assert client.get("/dashboard/").status_code == 200
        traveller.shift(step)
        response = client.get("/dashboard/")
    assert response.status_code == 302
