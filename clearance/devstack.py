"""Run the whole portal on one machine: ``make demo`` calls ``python -m clearance.devstack``.

Starts what is missing (embedded PostgreSQL and Redis when DATABASE_URL or REDIS_URL is unset,
and a loopback SMTP server that prints each message when EMAIL_HOST is unset), migrates, loads
the demo data, then runs the web server, a Celery worker and beat until Ctrl-C, when it stops
them all.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent


class PrintingHandler:
    """An SMTP handler that prints each message, so a demo user can open its links."""

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox
        outbox.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.original_content or envelope.content
        stamp = time.strftime("%Y%m%d-%H%M%S")
        (self.outbox / f"{stamp}-{abs(hash(raw))}.eml").write_bytes(raw)
        message = message_from_bytes(raw)
        print(f"\n--- mail to {', '.join(envelope.rcpt_tos)}: {message['Subject']}")
        print(_text_part(message))
        return "250 Message accepted for delivery"


def _text_part(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return ""


# What a command typed in another terminal needs to reach this demo's servers (manage.py reads
# the file while it exists; the demo removes it when it stops).
DEMO_ENV_NAMES = (
    "DEBUG",
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "SITE_URL",
    "PORTAL_ECONOMY",
    "TIME_ZONE",
    "EXCHANGE_RATE_FEED_URL",
    "EXCHANGE_RATE_FEED_BASE",
    "CELERY_QUEUE",
)


def write_demo_env(data_dir: Path, env: dict[str, str]) -> Path:
    path = data_dir / "demo.env"
    lines = [f"{name}={env[name]}" for name in DEMO_ENV_NAMES if env.get(name)]
    path.write_text(
        "# Written by `make demo` while it runs; removed when it stops.\n"
        + "\n".join(lines)
        + "\n",
        encoding="utf-8",
    )
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> int:
    data_dir = Path(os.environ.get("DATA_DIR", BASE_DIR / ".data"))
    env = dict(os.environ)
    env.setdefault("DEBUG", "true")
    port = env.get("PORT", "8000")
    env.setdefault("SITE_URL", f"http://127.0.0.1:{port}")
    _start_missing_servers(env, data_dir)
    smtp = _start_mail_printer(env, data_dir)

    python = sys.executable
    manage = str(BASE_DIR / "manage.py")
    subprocess.run([python, manage, "migrate", "--noinput"], env=env, check=True)
    subprocess.run([python, manage, "seed_demo"], env=env, check=True)
    demo_env = write_demo_env(data_dir, env)
    processes = {
        name: subprocess.Popen(command, env=env, cwd=BASE_DIR)
        for name, command in _commands(Path(python).parent, data_dir, port).items()
    }
    print(f"\nThe portal is at http://127.0.0.1:{port}/  (Ctrl-C stops everything)")
    print(
        "Administration commands work in another terminal while this runs, for example:\n"
        "  .venv/bin/python manage.py create_api_key --org 'Demo Marketplace'\n"
    )
    try:
        return _watch(processes)
    finally:
        _stop(processes)
        if smtp is not None:
            smtp.stop()
        demo_env.unlink(missing_ok=True)


def _start_missing_servers(env: dict[str, str], data_dir: Path) -> None:
    """Embedded PostgreSQL and Redis where no URL is given."""
    # Imported here: the embedded servers come with the demo's extra packages, which a
    # deployment that only imports this module's helpers need not install.
    from clearance import embedded

    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = embedded.database_url(data_dir)
        print(f"Embedded PostgreSQL: {env['DATABASE_URL']}")
    if not env.get("REDIS_URL"):
        env["REDIS_URL"] = embedded.redis_url(data_dir)
        print(f"Embedded Redis: {env['REDIS_URL']}")


def _start_mail_printer(env: dict[str, str], data_dir: Path) -> Any:
    """A loopback SMTP server that prints each message, where no EMAIL_HOST is given."""
    if env.get("EMAIL_HOST"):
        return None
    # Imported here for the same reason: aiosmtpd is one of the demo's extra packages.
    from aiosmtpd.controller import Controller

    smtp_port = _free_port()
    smtp = Controller(PrintingHandler(data_dir / "mail"), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    env["EMAIL_HOST"], env["EMAIL_PORT"] = "127.0.0.1", str(smtp_port)
    print(f"Mail is printed here and kept in {data_dir / 'mail'}")
    return smtp


def _commands(bin_dir: Path, data_dir: Path, port: str) -> dict[str, list[str]]:
    celery = str(bin_dir / "celery")
    return {
        "web": [
            str(bin_dir / "gunicorn"),
            "clearance.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--access-logfile",
            "-",
        ],
        "worker": [celery, "-A", "clearance", "worker", "-l", "info", "-c", "2"],
        "beat": [
            celery,
            "-A",
            "clearance",
            "beat",
            "-l",
            "info",
            "-s",
            str(data_dir / "celerybeat-schedule"),
        ],
    }


def _watch(processes: dict[str, subprocess.Popen[bytes]]) -> int:
    """Wait until Ctrl-C (0) or until one process stops by itself (1)."""
    try:
        while all(p.poll() is None for p in processes.values()):
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nStopping…")
        return 0
    stopped = [name for name, p in processes.items() if p.poll() is not None]
    print(f"Stopped unexpectedly: {', '.join(stopped)}", file=sys.stderr)
    return 1


def _stop(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for p in processes.values():
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in processes.values():
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


if __name__ == "__main__":
    sys.exit(main())
