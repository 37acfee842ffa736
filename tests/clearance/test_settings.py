"""Production settings, loaded in a fresh process as a deployment would load them."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # A deployment has none of the test-only variables (DJANGO_ALLOW_ASYNC_UNSAFE above all).
    dropped = {
        "DEBUG",
        "SECRET_KEY",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
        "PAYMENT_PROVIDER",
        "PAYMENT_SANDBOX_NOT_FOR_PRODUCTION",
    }
    base = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


STRIPE = {
    "PAYMENT_PROVIDER": "stripe",
    "STRIPE_SECRET_KEY": "sk_live_" + "x" * 24,
    "STRIPE_WEBHOOK_SECRET": "whsec_" + "y" * 32,
}


def test_production_settings_pass_the_deployment_checklist():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="portal.example",
        **STRIPE,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_the_sandbox_payment_provider():
    production = {"DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(64)}
    result = run_manage("check", ALLOWED_HOSTS="portal.example", **production)
    assert result.returncode != 0
    assert "PAYMENT_PROVIDER is sandbox, which moves no money, and DEBUG is off" in result.stderr
    # A local full stack may say, in so many words, that it is not for production.
    opted_in = run_manage(
        "check",
        ALLOWED_HOSTS="portal.example",
        PAYMENT_SANDBOX_NOT_FOR_PRODUCTION="true",
        **production,
    )
    assert opted_in.returncode == 0, opted_in.stderr


def test_the_stripe_provider_needs_its_keys():
    result = run_manage(
        "check",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="portal.example",
        PAYMENT_PROVIDER="stripe",
    )
    assert result.returncode != 0
    assert "set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET" in result.stderr


def test_the_portal_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = run_manage("check", DEBUG="false", ALLOWED_HOSTS="portal.example")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_the_portal_refuses_a_weak_secret_key_when_debug_is_off():
    result = run_manage(
        "check", DEBUG="false", SECRET_KEY="django-insecure-short", ALLOWED_HOSTS="portal.example"
    )
    assert result.returncode != 0
    assert "SECRET_KEY is too weak" in result.stderr


def test_a_malformed_variable_stops_start_up_with_its_name():
    result = run_manage("check", DEBUG="true", EMAIL_PORT="twenty-five")
    assert result.returncode != 0
    assert "EMAIL_PORT must be a whole number" in result.stderr


def test_database_connections_persist_with_health_checks():
    db = settings.DATABASES["default"]
    assert db["CONN_MAX_AGE"] > 0
    assert db["CONN_HEALTH_CHECKS"] is True


def test_each_development_checkout_signs_with_a_random_key_of_its_own(tmp_path):
    """With DEBUG on and no SECRET_KEY, the key is random per checkout, kept under DATA_DIR for
    all of its processes, and readable by its owner only: nobody can forge a demo's links."""
    show = ["shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)"]

    def key(data_dir: Path) -> str:
        result = run_manage(*show, DEBUG="true", DATA_DIR=str(data_dir))
        assert result.returncode == 0, result.stderr
        return result.stdout.strip().splitlines()[-1]

    first, again = key(tmp_path / "one"), key(tmp_path / "one")
    other = key(tmp_path / "two")

    assert first == again
    assert first != other
    assert len(first) >= 50 and "insecure" not in first
    assert (tmp_path / "one" / "secret_key").stat().st_mode & 0o777 == 0o600
