import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from clearance.models import Organisation, User

pytestmark = pytest.mark.django_db


def seed(capsys) -> str:
    call_command("seed_demo")
    return str(capsys.readouterr().out)


def test_seed_demo_creates_a_sign_in_for_every_role_and_can_run_again(capsys, settings):
    settings.DEBUG = True
    seed(capsys)
    seed(capsys)
    assert User.objects.filter(email__endswith="@demo.example").count() == 7
    assert set(Organisation.objects.values_list("kind", flat=True)) == {
        "seller",
        "platform",
        "carrier",
    }
    officer = User.objects.get(email="officer@demo.example")
    assert officer.role_names == {"officer"}


def test_the_printed_backup_codes_pass_the_second_factor(client, capsys, settings):
    settings.DEBUG = True
    output = seed(capsys)
    line = next(line for line in output.splitlines() if "officer@demo.example" in line)
    code = re.search(r"backup codes: (\S+)", line).group(1)
    client.post(
        "/account/login/", {"username": "officer@demo.example", "password": "demo-password-2026"}
    )
    assert client.get("/staff/").status_code == 302
    assert client.post("/account/two-factor/", {"token": code}).status_code == 302
    assert client.get("/staff/").status_code == 200


def test_seed_demo_refuses_to_run_in_production(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG off"):
        call_command("seed_demo")
