"""Twenty identical requests at the same moment make one declaration."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from clearance.services import apikey_create
from declarations.models import Declaration
from tests.declarations.helpers import declaration_data
from tests.factories import OrganisationFactory


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_identical_requests_create_one_row():
    organisation = OrganisationFactory()
    _key, secret = apikey_create(organisation=organisation, name="k", by=None)
    body = declaration_data()
    start = threading.Barrier(20)
    answers: list[tuple[int, int]] = []
    lock = threading.Lock()

    def send():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        start.wait()
        try:
            response = client.post(
                "/api/v1/declarations/", body, format="json", HTTP_IDEMPOTENCY_KEY="same-key"
            )
            with lock:
                answers.append((response.status_code, response.json()["id"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 20
    assert {status for status, _id in answers} == {201}
    assert len({pk for _status, pk in answers}) == 1
    assert Declaration.objects.count() == 1
