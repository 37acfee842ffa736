"""Scoring on real Celery workers: a thousand declarations from the batch API, scoring twice,
and a worker killed in the middle of a batch."""

import datetime
import os
import signal
import threading
import uuid

import psutil  # type: ignore[import-untyped]
import pytest
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from clearance.actors import Actor
from clearance.celery import app as celery_app
from clearance.models import Organisation, User
from clearance.risk import scoring as risk
from clearance.risk import tasks
from clearance.risk.models import RiskScore
from clearance.services import apikey_create
from declarations import services
from declarations.models import Declaration, Status
from tests.conftest import Worker, rates_for_today, wait_for, worker_env
from tests.declarations.helpers import declaration_data

pytestmark = pytest.mark.django_db(transaction=True)


def batch(count, prefix):
    return [
        declaration_data(
            reference=f"{prefix}-{n:05d}",
            consignee={"name": f"Consignee {n}", "address": "1 Road", "country": "KR"},
        )
        for n in range(count)
    ]


def scored(ids):
    return RiskScore.objects.filter(declaration_id__in=ids).count()


def test_a_thousand_declarations_from_the_batch_api_are_all_scored_by_a_worker(celery_worker):
    rates_for_today()
    organisation = Organisation.objects.create(
        name="Big Platform", kind="platform", owner=User.objects.create_user("p@x.test")
    )
    _key, secret = apikey_create(organisation=organisation, name="system", by=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")

    response = client.post(
        "/api/v1/declarations/batch/",
        {"declarations": batch(1000, "B"), "submit": True},
        format="json",
    )

    assert response.status_code == 200, response.content[:500]
    ids = [r["id"] for r in response.json()["results"]]
    assert len(ids) == 1000
    wait_for(lambda: scored(ids) == 1000, timeout=120)
    assert not Declaration.objects.filter(pk__in=ids, status=Status.SUBMITTED).exists()
    assert not Declaration.objects.filter(pk__in=ids, lane="").exists()

    before = list(Declaration.objects.filter(pk__in=ids).values_list("pk", "status", "updated_at"))
    assert risk.score_declarations(ids) == 0
    tasks.score_declarations.delay(ids)
    tasks.score_declarations.delay(ids[:10])
    wait_for(lambda: celery_idle(), timeout=30)
    after = list(Declaration.objects.filter(pk__in=ids).values_list("pk", "status", "updated_at"))
    assert before == after
    assert scored(ids) == 1000


def celery_idle():
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    return client.llen(celery_app.conf.task_default_queue) == 0


def kill_hard(worker):
    """SIGKILL the worker and its pool processes at once, as a machine that loses power."""
    assert worker.process is not None
    parent = psutil.Process(worker.process.pid)
    processes = [parent, *parent.children(recursive=True)]
    for process in processes:
        os.kill(process.pid, signal.SIGKILL)
    psutil.wait_procs(processes, timeout=10)
    worker.process.wait()
    worker.process = None


@pytest.fixture
def own_queue():
    """A queue of this test's own, away from the session's worker."""
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = f"clearance-kill-{uuid.uuid4().hex[:8]}"
    yield celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = previous


def test_killing_the_worker_in_the_middle_of_a_batch_loses_no_declaration(tmp_path, own_queue):
    rates_for_today()
    env = worker_env(CELERY_QUEUE=own_queue)
    organisation = Organisation.objects.create(
        name="Kill Platform", kind="platform", owner=User.objects.create_user("k@x.test")
    )
    # Four sets of 1,000 are queued before any worker runs. The last two sets' rows are held
    # by another transaction, so the worker scores the first two and is then caught in the
    # middle of the batch, whatever the speed of the machine.
    outcomes = services.declarations_create(
        organisation=organisation, items=batch(4000, "K"), submit=True, actor=Actor()
    )
    ids = sorted(o.declaration.pk for o in outcomes)
    held = ids[2 * services.SCORING_CHUNK :]
    holding, release = threading.Event(), threading.Event()

    def hold_rows():
        try:
            with transaction.atomic():
                list(services.lock_many(held))
                holding.set()
                release.wait(180)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_rows)
    holder.start()
    first = Worker(env, tmp_path / "first.log")
    try:
        assert holding.wait(30)
        first.start()
        wait_for(lambda: scored(ids) == len(ids) - len(held), timeout=120)
        kill_hard(first)
    finally:
        release.set()
        holder.join()
        first.stop()
    left = len(ids) - scored(ids)
    assert left == len(held)

    # Minutes later the sweeper finds what the dead worker left (its messages are not acked,
    # and the broker would hand them out again only after its visibility timeout).
    Declaration.objects.filter(pk__in=ids, status=Status.SUBMITTED).update(
        updated_at=timezone.now() - datetime.timedelta(minutes=10)
    )
    assert tasks.sweep_clearance() == left
    second = Worker(env, tmp_path / "second.log")
    second.start()
    try:
        wait_for(lambda: scored(ids) == len(ids), timeout=180)
    finally:
        second.stop()
    assert not Declaration.objects.filter(pk__in=ids, status=Status.SUBMITTED).exists()
    assert RiskScore.objects.filter(declaration_id__in=ids).count() == len(ids)
