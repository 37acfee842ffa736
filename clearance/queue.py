"""Queue Celery work from a service.

Tasks are queued by name once the transaction commits, so a rolled-back change queues nothing,
and a service need not import its app's ``tasks`` module (which imports the service back).
"""

from typing import Any

from celery import current_app
from django.db import transaction


def documents_queue() -> str:
    """The queue PDFs are rendered from (see ``CELERY_TASK_QUEUES``)."""
    return f"{current_app.conf.task_default_queue}-documents"


def enqueue_on_commit(task_name: str, *args: Any, document: bool = False) -> None:
    """Send ``task_name(*args)`` to the workers after the current transaction commits (at once
    outside a transaction). The task must be registered under that name with ``shared_task``.
    ``document`` sends it to the documents queue, read after the clearance queue."""
    if document:
        queue = documents_queue()
        transaction.on_commit(lambda: current_app.send_task(task_name, args=args, queue=queue))
    else:
        transaction.on_commit(lambda: current_app.send_task(task_name, args=args))
