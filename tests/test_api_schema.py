"""The API's schema tells the truth: Schemathesis runs every check, with valid and invalid
data and through the stateful links, against the live server with a real key, and finds
nothing.

The server has an organisation with a key and declarations in several states (a draft, a
submitted one, a cancelled one, one waiting for payment and one paid and released), so that
ids exist. ``schemathesis.toml`` names the operations whose business rules may refuse a
well-shaped request (422). The run takes about two minutes on two cores.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from clearance.actors import Actor
from clearance.services import apikey_create
from declarations import services
from refunds import payments
from tests.conftest import rates_for_today
from tests.declarations.helpers import declaration_data
from tests.factories import OrganisationFactory
from tests.refunds.helpers import callback, due_declaration, post_callback

ROOT = Path(__file__).resolve().parent.parent
ST = Path(sys.executable).parent / "st"
# Examples per operation and phase: enough to reach every documented status, small enough
# for the whole run to stay near two minutes on two cores.
EXAMPLES = 10


def seeded_organisation() -> str:
    """An organisation with declarations in several states; its API key."""
    rates_for_today()
    organisation = OrganisationFactory(name="Contract Check Shop")
    actor = Actor(user=organisation.owner)
    services.declaration_create(
        organisation=organisation, data=declaration_data(), submit=False, actor=actor
    )
    services.declaration_create(
        organisation=organisation, data=declaration_data(), submit=True, actor=actor
    )
    cancelled = services.declaration_create(
        organisation=organisation, data=declaration_data(), submit=False, actor=actor
    )
    services.declaration_cancel(declaration=cancelled, actor=actor)
    due_declaration(organisation)
    paid = due_declaration(organisation)
    payment, _url = payments.payment_start(declaration=paid, actor=actor)
    post_callback(Client(), *callback(payment.reference, "30000", "KRW"))
    _key, secret = apikey_create(organisation=organisation, name="contract check", by=None)
    return secret


def schemathesis(base_url: str, secret: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    command = [
        str(ST),
        "--config-file",
        str(ROOT / "schemathesis.toml"),
        "run",
        f"{base_url}/api/v1/schema/",
        "--header",
        f"Authorization: Bearer {secret}",
        "--checks",
        "all",
        "--mode",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        "20261202",
        "--workers",
        "2",
        "--no-color",
    ]
    return subprocess.run(
        command,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        check=False,
    )


@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_the_server_true_to_its_schema(live_server, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    secret = seeded_organisation()

    run = schemathesis(live_server.url, secret, tmp_path)

    summary = run.stdout[run.stdout.find("=== SUMMARY") - 40 :]
    print(summary)
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    assert "Tested: " in summary
