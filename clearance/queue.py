"""Queue Celery work from a service.

Tasks are queued by name once the transaction commits, so a rolled-back change queues nothing,
and a service need not import its app's ``tasks`` module (which imports the service back).
"""

from typing import Any

from celery import current_app
from django.db import transaction


def enqueue_on_commit(task_name: str, *args: Any) -> None:
    """Send ``task_name(*args)`` to the workers after the current transaction commits (at once
    outside a transaction). The task must be registered under that name with ``shared_task``."""
    transaction.on_commit(lambda: current_app.send_task(task_name, args=args))
