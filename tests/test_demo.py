"""`make demo` (after installing) runs `python -m clearance.devstack`: start it as a user would."""

import datetime
import http.cookiejar
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from django.conf import settings

from tests.conftest import free_port
from tests.declarations.helpers import LINE, declaration_data

ROOT = Path(__file__).resolve().parent.parent
# What `make demo` sets for its own processes and writes to DATA_DIR/demo.env: a second
# terminal has none of them.
DEMO_ONLY = {"DEBUG", "DATABASE_URL", "REDIS_URL", "EMAIL_HOST", "EMAIL_PORT", "SITE_URL", "PORT"}


def fetch(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (urllib.error.URLError, OSError):
        return 0


def server_connection(dbname: str = "postgres"):
    db = settings.DATABASES["default"]
    return psycopg2.connect(
        dbname=dbname, user=db["USER"], password=db["PASSWORD"], host=db["HOST"], port=db["PORT"]
    )


@pytest.fixture
def data_dir():
    # Not under pytest's tmp_path: the embedded PostgreSQL runs as its own system user when
    # started by root, and must be able to reach its data folder.
    path = Path(tempfile.mkdtemp(prefix="demo-"))
    path.chmod(0o755)
    yield path
    subprocess.run(["rm", "-rf", str(path)], check=False)


@pytest.fixture
def system_database():
    name = f"demo_{uuid.uuid4().hex[:8]}"
    conn = server_connection()
    conn.autocommit = True
    conn.cursor().execute(f'CREATE DATABASE "{name}"')
    conn.close()
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    host = db["HOST"]
    if host.startswith("/"):
        yield f"postgresql://{auth}@/{name}?host={host}"
    else:
        yield f"postgresql://{auth}@{host}:{db['PORT'] or 5432}/{name}"
    conn = server_connection()
    conn.autocommit = True
    conn.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


def readme_commands() -> list[list[str]]:
    """The commands of the README's administration section, as printed."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Reference data and administration commands", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [shlex.split(line.split("  #")[0]) for line in block.splitlines() if line.strip()]


def run_readme_commands(env: dict[str, str], base: str, data_dir: Path) -> None:
    """In a second terminal (the user's shell, without the demo's own variables), every
    administration command works as printed, on the running demo's database."""
    assert (data_dir / "demo.env").is_file()
    shell = {k: v for k, v in env.items() if k not in DEMO_ONLY}
    commands = readme_commands()
    assert len(commands) >= 7
    for argv in commands:
        assert argv[:2] == [".venv/bin/python", "manage.py"], argv
        done = subprocess.run(
            [sys.executable, *argv[1:]],  # .venv/bin/python, wherever the venv lives
            cwd=ROOT,
            env=shell,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, f"{argv}: {done.stdout}{done.stderr}"
    key = done.stdout.split()[-1]  # create_api_key, last: its key, on the last line
    status, _body = call(base, "/api/v1/declarations/", key=key)
    assert status == 200  # the demo knows the key the command made
    a_parcel_today_is_priced_assessed_scored_and_paid(base, key)


def call(
    base: str, path: str, *, key: str = "", body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    """A JSON request to the running demo's API."""
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return int(response.status), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return int(error.code), json.loads(error.read() or b"null")


def a_parcel_today_is_priced_assessed_scored_and_paid(base: str, key: str) -> None:
    """On the demo's real clock: the estimator prices a 45 USD T-shirt sent to Korea today; a
    USD parcel filed today by API is assessed (not held), scored by the demo's worker, and
    paid through the sandbox gateway in the browser's way (a form post), then released."""
    shirt = {
        "description": "Cotton T-shirt",
        "hs_code": "610910",
        "quantity": "1",
        "value": "45",
        "origin_country": "CN",
    }
    status, estimate = call(
        base,
        "/api/v1/estimate/",
        body={
            "transport_mode": "express",
            "purpose": "personal",
            "currency": "USD",
            "seller": {"country": "CN"},
            "consignee": {"country": "KR", "id_number": "P123456789012"},
            "lines": [shirt],
        },
    )
    assert status == 200, estimate
    assert estimate["date"] == datetime.date.today().isoformat() and not estimate["held"]
    assert estimate["total_due"]["amount"] is not None

    parcel = declaration_data(
        reference=f"DEMO-TODAY-{uuid.uuid4().hex[:6]}",
        lines=[{**LINE, "quantity": "1", "value": "212.40"}],  # over the limit: owes duty
    )
    status, filed = call(base, "/api/v1/declarations/", key=key, body={**parcel, "submit": True})
    assert status == 201, filed
    assert filed["status"] == "submitted" and not filed["assessment"]["held"]
    assert int(filed["assessment"]["total_due"]["amount"]) > 0
    path = f"/api/v1/declarations/{filed['id']}/"

    def moved_on() -> Any:
        found = call(base, path, key=key)[1]
        return found if found["status"] != "submitted" else None

    scored = wait_until(moved_on)
    if scored["status"] != "awaiting_payment":
        return  # the demo's risk rules sent it to an officer: paying waits for the decision

    browser = Browser(base)
    browser.sign_in("platform@demo.example", "demo-password-2026")
    checkout = browser.post(f"/payments/declarations/{filed['id']}/pay/", {})
    browser.post(checkout, {"pay": "1"}, referer=checkout)
    released = wait_until(lambda: call(base, path, key=key)[1]["status"] == "released" or None)
    assert released


def wait_until(probe: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError("timed out")


class Browser:
    """Just enough of a browser for the demo's forms: cookies, CSRF, redirects."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def token(self) -> str:
        return next(str(c.value) for c in self.jar if c.name == "csrftoken")

    def sign_in(self, email: str, password: str) -> None:
        self.opener.open(self.base + "/account/login/", timeout=20).read()
        self.post("/account/login/", {"username": email, "password": password})

    def post(self, path: str, form: dict[str, str], referer: str = "") -> str:
        """Post a form; returns the path it ended on, after redirects."""
        url = path if path.startswith("http") else self.base + path
        data = urllib.parse.urlencode({**form, "csrfmiddlewaretoken": self.token()}).encode()
        request = urllib.request.Request(
            url, data=data, headers={"Referer": referer or url, "X-CSRFToken": self.token()}
        )
        with self.opener.open(request, timeout=30) as response:
            return str(response.geturl())


def run_demo(env: dict[str, str], log: Path, *, then: Any = None) -> None:
    port = free_port()
    env = {**env, "PORT": str(port)}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "clearance.devstack"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        started = time.monotonic()
        while fetch(base + "/healthz") != 200:
            assert process.poll() is None, log.read_text()[-4000:]
            assert time.monotonic() - started < 180, (
                "not healthy within 3 minutes\n" + (log.read_text()[-4000:])
            )
            time.sleep(1)
        assert fetch(base + "/") == 200
        assert fetch(base + "/account/login/") == 200
        output = log.read_text()
        assert "seller@demo.example" in output and "officer@demo.example" in output
        assert "backup codes:" in output
        if then is not None:
            then(env, base)
    finally:
        # Ctrl-C in a terminal signals the whole process group.
        os.killpg(process.pid, signal.SIGINT)
        code = process.wait(timeout=60)
    assert code == 0, log.read_text()[-4000:]


def test_the_demo_runs_on_embedded_postgresql_and_redis(data_dir, rate_feed):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    # The administration's own feed, served here (no network): the README's fetch command
    # reads it in the second terminal.
    feed = rate_feed.publish(
        "/customs-rates.csv", f"date,currency,rate\n{datetime.date.today()},USD,1.08\n".encode()
    )
    env.update(DATA_DIR=str(data_dir), DEBUG="true", EXCHANGE_RATE_FEED_URL=feed)
    env.pop("EMAIL_HOST", None)
    run_demo(
        env,
        data_dir / "demo.log",
        then=lambda demo_env, base: run_readme_commands(demo_env, base, data_dir),
    )
    assert not (data_dir / "demo.env").exists()  # removed when the demo stopped


def test_the_demo_runs_on_the_servers_named_in_the_environment(data_dir, system_database):
    env = dict(os.environ)
    env.update(
        DATA_DIR=str(data_dir),
        DEBUG="true",
        DATABASE_URL=system_database,
        REDIS_URL=settings.REDIS_URL,
    )
    env.pop("EMAIL_HOST", None)
    run_demo(env, data_dir / "demo.log")
