import subprocess

import pytest
import redis

from tests.conftest import Worker, free_port, redis_server_binary, wait_for, worker_env

pytestmark = pytest.mark.django_db(transaction=True)


def test_healthz_is_200_when_database_redis_and_a_worker_are_up(client, celery_worker):
    body = wait_for(lambda: (r := client.get("/healthz")).status_code == 200 and r.json())
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["redis"] == {"ok": True}
    assert body["checks"]["worker"]["ok"] is True


class RedisProcess:
    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                redis_server_binary(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        wait_for(lambda: _pings(client))

    def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=10)


def _pings(client) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def test_healthz_is_503_while_redis_is_stopped_and_200_once_it_is_back(
    client, settings, tmp_path, django_db_blocker
):
    # A Redis and a worker of this test's own, so stopping Redis disturbs no other test.
    redis_server = RedisProcess(free_port())
    redis_server.start()
    url = f"redis://127.0.0.1:{redis_server.port}/0"
    settings.REDIS_URL = url
    worker = Worker(worker_env(REDIS_URL=url, WORKER_HEARTBEAT_SECONDS="1"), tmp_path / "w.log")
    worker.start()
    try:
        wait_for(lambda: client.get("/healthz").status_code == 200)

        redis_server.stop()
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["checks"]["redis"]["ok"] is False

        redis_server.start()
        wait_for(lambda: client.get("/healthz").status_code == 200, timeout=30)
    finally:
        worker.stop()
        redis_server.stop()


def test_healthz_is_503_when_no_worker_has_beaten(client, settings, tmp_path):
    redis_server = RedisProcess(free_port())
    redis_server.start()
    try:
        settings.REDIS_URL = f"redis://127.0.0.1:{redis_server.port}/0"
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["checks"]["worker"] == {"ok": False, "error": "no worker heartbeat"}
        assert response.json()["checks"]["redis"] == {"ok": True}
    finally:
        redis_server.stop()
